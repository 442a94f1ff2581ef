"""Import a file of the repository that is not on sys.path (an example's generator, a test's held-out
generator, a bench) as a module, for the benches in this folder and the tests.

A bench run as `python bench/bench_x.py` has bench/ on sys.path, so `from loader import load_module`
works there; tests, run from the repository's root, import it as `bench.loader`. A bench that a test
loads by path (bench_catalog_fidelity.py) must not import its siblings: bench/ is not on sys.path then.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def load_module(path: Path, name: str) -> ModuleType:
    """Execute `path` as module `name`, registered in sys.modules (dataclasses in it need that)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
