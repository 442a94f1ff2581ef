"""The tool seam: a tiny `Tool` protocol (the registry of tools by name is `agentbook.tools`).

A tool is an object with a name, a description and a JSON Schema for its input, whose `run(args,
ctx)` returns a `ToolResult`. A plain `run` is called in a worker thread, so a slow one cannot stall
the other sessions on the event loop; a coroutine `run` is awaited on the loop and must not block it
(the built-in `read`, `glob` and `grep` are: a hop to a thread costs more than a short call, about
1 ms of CPU under load spent passing the GIL back and forth). Errors the agent can fix are
returned as `ToolResult(..., is_error=True)` (a command outside the allow-list is one of them); a
refusal by policy that must stop the work (a protected path) also sets `denied` with evidence, and the
session then ends `blocked`.

    register_tool("eval", lambda: EvalTool())
    tools = get_tools(["read", "eval"])
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from agentbook.session.limits import Limits

# The registry is agentbook.tools (one list for every package); these names stay importable from here.
from agentbook.tools import ToolFactory, get_tools, register_tool, registered_tools


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
    # what is left of the session's spend when a call starts (None: no limit); a tool that calls a model
    # (eval run) stops there and adds what it spent to state["spent_usd"], which the session counts as its own
    usd_left: float | None = None

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
        outcome = await _in_daemon_thread(tool.run, args, ctx)
        if inspect.isawaitable(outcome):
            outcome = await outcome
    assert isinstance(outcome, ToolResult)
    return outcome


async def _in_daemon_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(*args)` in a thread of its own that nothing waits for: a call the session abandons at its
    wall clock (a tool hung in a system call) cannot keep the process from exiting, as a call in the
    loop's executor would (asyncio.run joins those threads at the end)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Any] = loop.create_future()
    context = contextvars.copy_context()

    def settle(ok: bool, value: Any) -> None:
        if not done.done():
            done.set_result(value) if ok else done.set_exception(value)

    def work() -> None:
        try:
            value = context.run(fn, *args)
        except BaseException as err:  # noqa: BLE001 - handed to the awaiting coroutine as it is
            ok, value = False, err
        else:
            ok = True
        try:
            loop.call_soon_threadsafe(settle, ok, value)
        except RuntimeError:
            pass  # the loop is gone: the call was abandoned

    threading.Thread(target=work, name=f"tool-{getattr(fn, '__qualname__', 'call')}", daemon=True).start()
    return await done


__all__ = ["Tool", "ToolContext", "ToolFactory", "ToolResult", "call_tool", "get_tools", "register_tool",
           "registered_tools", "tool_spec"]


def tool_spec(tool: Tool) -> dict[str, Any]:
    """The tool as the Messages API wants it."""
    return {"name": tool.name, "description": tool.description, "input_schema": tool.input_schema}
