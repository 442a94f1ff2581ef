"""The analyst's tools: the session's read-only `read`, `glob` and `grep`, over two roots.

Paths resolve in the investigation folder; with `--code`, an optional `root: "code"` argument points a
call at the system's codebase instead. Each call is delegated to the session tool with a context
confined to the chosen root, so the session's path checks (no `..`, no escaping symlinks) still apply.
Nothing here can write, run a command or reach the network.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentbook.session.tools import Tool, ToolContext, ToolResult, call_tool, get_tools

ANALYST_TOOLS = ("read", "glob", "grep")


@dataclass
class TwoRootTool:
    inner: Tool
    code_root: Path
    name: str = ""
    description: str = ""
    read_only: bool = True

    def __post_init__(self) -> None:
        self.name = self.inner.name
        self.description = (self.inner.description + " Paths are relative to the investigation folder; "
                            "pass root=\"code\" to work in the system's codebase instead.")
        schema = copy.deepcopy(self.inner.input_schema)
        schema.setdefault("properties", {})["root"] = {
            "enum": ["investigation", "code"], "description": "Where paths resolve (default: investigation)"}
        self.input_schema: dict[str, Any] = schema

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        args = dict(args)
        where = args.pop("root", "investigation")
        if where not in ("investigation", "code"):
            return ToolResult("error: root must be \"investigation\" or \"code\"", is_error=True)
        if where == "code":
            ctx = ToolContext(root=self.code_root, session_id=ctx.session_id)
        return await call_tool(self.inner, args, ctx)  # where the session would have called it


def analyst_tools(code: Path | None) -> list[Tool]:
    tools = get_tools(list(ANALYST_TOOLS))
    assert all(t.read_only for t in tools), "analyst tools must be read-only"
    if code is None:
        return tools
    return [TwoRootTool(t, code.resolve()) for t in tools]
