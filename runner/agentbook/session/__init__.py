"""The headless agent session: a turn loop over `agentbook.models` with confined tools, budgets, a
transcript, an OTLP trace and a typed outcome. See README.md in this folder.

    config = SessionConfig(model="scripted:examples/sessions/explore.script.yaml", root="/tmp/work")
    result = await run_session(config, "Summarise the README")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentbook.session.config import DEFAULT_TOOLS, Budgets, SessionConfig
    from agentbook.session.history import history_from_transcript
    from agentbook.session.loop import Session, run_session
    from agentbook.session.result import SessionResult
    from agentbook.session.tools import Tool, ToolContext, ToolResult, get_tools, register_tool

# Loaded when first named, not when a submodule is: a program's own model calls import
# `agentbook.session.trace` for their trace (models/tracing.py), and the turn loop, its config and
# its tools (about 15 ms) are no part of that.
_EXPORTS = {
    "DEFAULT_TOOLS": "config", "Budgets": "config", "SessionConfig": "config",
    "history_from_transcript": "history", "Session": "loop", "run_session": "loop", "SessionResult": "result",
    "Tool": "tools", "ToolContext": "tools", "ToolResult": "tools", "get_tools": "tools", "register_tool": "tools",
}

__all__ = ["DEFAULT_TOOLS", "Budgets", "Session", "SessionConfig", "SessionResult", "Tool", "ToolContext",
           "ToolResult", "get_tools", "history_from_transcript", "register_tool", "run_session"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agentbook.session' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"agentbook.session.{module}"), name)
    globals()[name] = value
    return value
