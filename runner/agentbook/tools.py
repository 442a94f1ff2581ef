"""The tool registry: one list of every tool a session or runbook may name, and where each lives.

Built-in tools are registered the way plugins are: by name and a `module:factory` reference, loaded
on first request. `BUILTIN` is the one list of agentbook's own; a plugin adds its own through the
`agentbook.tools` entry-point group (value `module:factory`, or a module that calls `register_tool`
when imported); code in this process may call `register_tool(name, factory)` directly.

Knowing the names costs no import (`tool_names()`, for `agentbook validate`), and this module imports
nothing of agentbook's but the errors, so every package may depend on it: the session does not
import the eval or runbook packages, and the catalog does not import the session.

    register_tool("eval", EvalTool)
    tools = get_tools(["read", "eval"])
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

from agentbook.errors import FatalError

if TYPE_CHECKING:
    from agentbook.session.tools import Tool

GROUP = "agentbook.tools"
BUILTIN: dict[str, str] = {
    "read": "agentbook.session.tools.files:ReadTool",
    "write": "agentbook.session.tools.files:WriteTool",
    "edit": "agentbook.session.tools.files:EditTool",
    "glob": "agentbook.session.tools.search:GlobTool",
    "grep": "agentbook.session.tools.search:GrepTool",
    "bash": "agentbook.session.tools.bash:BashTool",
    "eval": "agentbook.evals.tool:EvalTool",
    "skill": "agentbook.runbooks.skill_tool:SkillTool",
}

ToolFactory = Callable[[], "Tool"]
_REGISTRY: dict[str, ToolFactory] = {}


def register_tool(name: str, factory: ToolFactory) -> None:
    """Make `name` available to `get_tools`; registering a name again replaces it."""
    _REGISTRY[name] = factory


@lru_cache(maxsize=1)
def _plugins() -> dict[str, str]:
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group=GROUP)}


def tool_names() -> frozenset[str]:
    """Every name `get_tools` can build, without importing any tool."""
    return frozenset(BUILTIN) | frozenset(_plugins()) | frozenset(_REGISTRY)


def registered_tools() -> list[str]:
    return sorted(tool_names())


def _load(name: str) -> None:
    reference = BUILTIN.get(name) or _plugins().get(name)
    if reference is None or name in _REGISTRY:
        return
    module_name, _, attr = reference.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise FatalError(f"tool {name!r} cannot be loaded from {module_name}: {err}",
                         hint="reinstall agentbook, or the plugin that provides the tool") from err
    if attr:
        _REGISTRY[name] = getattr(module, attr)
    # without an attribute, the module registered the tool itself when imported


def get_tools(names: list[str]) -> list[Tool]:
    """Build one fresh Tool per name, in order. Unknown names are a FatalError listing the known ones."""
    for name in names:
        _load(name)
    unknown = [n for n in names if n not in _REGISTRY]
    if unknown:
        raise FatalError(f"unknown tool {unknown[0]!r}", hint=f"known tools: {', '.join(registered_tools())}")
    return [_REGISTRY[n]() for n in names]
