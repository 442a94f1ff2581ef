"""Import a file of the repository that is not on sys.path (an example's generator, a test's held-out
generator, a sibling bench) as a module, for the benches in this folder.

A bench run as `python bench/bench_x.py` has bench/ on sys.path, so `from loader import load_module`
works there; code outside bench/ must not import a bench (tests import the library instead).
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
