"""Per-library models: what each API returns and which events it records (issue 12 split, in progress).

Each module holds the knowledge of one library as tables plus small functions; the core interpreter
(``..interpreter``) resolves a call to its qualified name and asks the module that owns the package.
So far: ``numpy_sklearn`` (sklearn dataset loaders). The rest still lives in ``interpreter.py``
(see ``zerolint/model/README.md``).
"""
