"""The semantic model of one training script, built once and shared by every rule."""
from __future__ import annotations

import os
from typing import Iterator, Optional

import libcst as cst

from . import facts, regions, values
from .facts import Event, FunctionFacts
from .interpreter import Interpreter

__all__ = ["SemanticModel", "facts", "regions", "values"]


class SemanticModel:
    """What a training script means: imports, modules, bindings, training and evaluation regions."""

    def __init__(self, module: cst.Module, path: str = "<string>") -> None:
        self.module = module
        self.path = path
        facts.clear_memo()
        regions.clear_memo()
        interpreter = Interpreter(module)
        interpreter.run()
        self.imports = interpreter.imports
        self.module_facts = interpreter.module_facts
        self.functions: list[FunctionFacts] = [interpreter.module_facts, *interpreter.functions]
        self.classes = interpreter.classes
        base = os.path.basename(path)
        self.is_test_file = base.startswith("test_") or base.endswith("_test.py") or \
            self.imports.imports_any("pytest", "unittest")

    def events(self, *kinds: str) -> Iterator[Event]:
        for fn in self.functions:
            for event in fn.events:
                if not kinds or event.kind in kinds:
                    yield event

    def eval_region(self, event: Event) -> Optional[str]:
        return regions.eval_region(event, self.is_test_file)
