"""Byte-compile agentbook before a bench times its start-up, for the benches in this folder (imported as
`from precompile import compile_agentbook`: a bench run as `python bench/bench_x.py` has bench/ on sys.path)."""

from __future__ import annotations

import compileall
from pathlib import Path


def compile_agentbook() -> None:
    """Byte-compile agentbook as `pip install` does: an editable checkout run with
    PYTHONDONTWRITEBYTECODE=1 would otherwise compile every module on every start."""
    import agentbook

    compileall.compile_dir(str(Path(agentbook.__file__).parent), quiet=1)
