"""The tool seam: a tiny `Tool` protocol and a registry other packages add tools to.

A tool is an object with a name, a description and a JSON Schema for its input, whose `run(args,
ctx)` returns a `ToolResult`. A plain `run` is called in a worker thread, so a slow one cannot stall
the other sessions on the event loop; a coroutine `run` is awaited on the loop and must not block it
(the built-in `read`, `glob` and `grep` are: a hop to a thread costs more than a short call, about
1 ms of CPU under load spent passing the GIL back and forth). Errors the agent can fix are
returned as `ToolResult(..., is_error=True)`; a refusal by policy (a protected path, a command not
allowed) also sets `denied` with evidence, and the session then ends `blocked`.

    register_tool("eval", lambda: EvalTool())
    tools = get_tools(["read", "eval"])
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from agentbook.errors import FatalError
from agentbook.session.limits import Limits


@dataclass
class ToolResult:
    content: str
    is_error: bool = False
    denied: dict[str, Any] | None = None  # evidence when a policy refused the call
    changed: list[str] = field(default_factory=list)  # root-relative paths this call wrote


@dataclass
class ToolContext:
    """What a tool may touch: the root, the protected globs, and the bash policy."""

    root: Path
    protected: list[str] = field(default_factory=list)
    bash_allow: list[str] | None = None
    sandbox: str = "allowlist"  # the resolved mode: bwrap | allowlist (both jailed) | unconfined
    bash_timeout: float = 120.0
    env: dict[str, str] = field(default_factory=dict)
    session_id: str = ""
    limits: Limits = field(default_factory=Limits)
    state: dict[str, Any] = field(default_factory=dict)  # what a tool keeps across calls (bash: the disk meter)

    def __post_init__(self) -> None:
        self.root = Path(self.root).resolve()


@runtime_checkable
class Tool(Protocol):
    name: str
    description: str
    input_schema: dict[str, Any]
    read_only: bool

    def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult | Awaitable[ToolResult]: ...


async def call_tool(tool: Tool, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    """Run one call where it belongs: a coroutine `run` on the event loop, a plain one in a worker thread."""
    if inspect.iscoroutinefunction(tool.run):
        outcome = await tool.run(args, ctx)
    else:
        outcome = await asyncio.to_thread(tool.run, args, ctx)
        if inspect.isawaitable(outcome):
            outcome = await outcome
    assert isinstance(outcome, ToolResult)
    return outcome



ToolFactory = Callable[[], Tool]
_REGISTRY: dict[str, ToolFactory] = {}


def register_tool(name: str, factory: ToolFactory) -> None:
    """Make `name` available to `get_tools`; registering a name again replaces it."""
    _REGISTRY[name] = factory


# Tools that other agentbook packages provide, imported on first request by name. A plugin registers
# the same way through the `agentbook.tools` entry-point group (value: the module that registers).
_PROVIDERS: dict[str, str] = {
    "eval": "agentbook.evals.tool",
    "skill": "agentbook.runbooks.skill_tool",
}


def _load_provider(name: str) -> None:
    module = _PROVIDERS.get(name)
    if module is None:
        from importlib.metadata import entry_points

        module = next((ep.value for ep in entry_points(group="agentbook.tools") if ep.name == name), None)
    if module is not None:
        importlib.import_module(module)


def registered_tools() -> list[str]:
    _load_builtins()
    for name in _PROVIDERS:
        _load_provider(name)
    return sorted(_REGISTRY)


def get_tools(names: list[str]) -> list[Tool]:
    """Build one fresh Tool per name, in order. Unknown names are a FatalError listing the known ones."""
    _load_builtins()
    for name in names:
        if name not in _REGISTRY:
            _load_provider(name)
    unknown = [n for n in names if n not in _REGISTRY]
    if unknown:
        raise FatalError(f"unknown tool {unknown[0]!r}", hint=f"known tools: {', '.join(sorted(_REGISTRY))}")
    return [_REGISTRY[n]() for n in names]


def tool_spec(tool: Tool) -> dict[str, Any]:
    """The tool as the Messages API wants it."""
    return {"name": tool.name, "description": tool.description, "input_schema": tool.input_schema}


_BUILTINS_LOADED = False


def _load_builtins() -> None:
    # Imported on first use so `agentbook.session.tools` stays cheap and free of import cycles.
    global _BUILTINS_LOADED
    if _BUILTINS_LOADED:
        return
    _BUILTINS_LOADED = True
    from agentbook.session.tools import bash, files, search

    for factory in (*files.FACTORIES, *search.FACTORIES, *bash.FACTORIES):
        tool = factory()
        _REGISTRY.setdefault(tool.name, factory)
