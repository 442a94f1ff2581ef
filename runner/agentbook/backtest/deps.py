"""The backtest extra's libraries (scikit-learn, matplotlib, ray) are optional: say how to get them."""

from __future__ import annotations

import importlib
from types import ModuleType

from agentbook.errors import FatalError
from agentbook.version import extra_hint


def need(module: str, purpose: str) -> ModuleType:
    """Import `module` or raise a FatalError naming the extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise FatalError(f"{purpose} needs {module.split('.')[0]}, which is not installed",
                         hint=extra_hint("backtest")) from None
