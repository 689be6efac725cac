"""Ship the rule pages (top-level `rules/*.md`, the docs source) inside the package as `zerolint/_pages`."""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithPages(build_py):
    def run(self):
        super().run()
        source = Path(__file__).resolve().parent / "rules"
        target = Path(self.build_lib) / "zerolint" / "_pages"
        target.mkdir(parents=True, exist_ok=True)
        for page in sorted(source.glob("ZL*.md")):
            shutil.copyfile(page, target / page.name)


setup(cmdclass={"build_py": BuildWithPages})
