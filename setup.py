"""Build hook (all other metadata is in pyproject.toml): ship agentbook's own skills/, runbooks/ and
schemas/ inside the package as agentbook/_catalog/, so they work from a wheel in any repository.
An editable install reads them from the checkout instead (see agentbook.catalog.loader.shipped_root)."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CATALOG_DIRS = ("skills", "runbooks", "schemas")


class BuildPyWithCatalog(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        here = Path(__file__).resolve().parent
        dest = Path(self.build_lib) / "agentbook" / "_catalog"
        for name in CATALOG_DIRS:
            if (here / name).is_dir():
                shutil.copytree(here / name, dest / name, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))


setup(cmdclass={"build_py": BuildPyWithCatalog})
