"""The headless agent session: a turn loop over `agentbook.models` with confined tools, budgets, a
transcript, an OTLP trace and a typed outcome. See README.md in this folder.

    config = SessionConfig(model="scripted:examples/sessions/explore.script.yaml", root="/tmp/work")
    result = await run_session(config, "Summarise the README")
"""

from agentbook.session.config import DEFAULT_TOOLS, Budgets, SessionConfig
from agentbook.session.history import history_from_transcript
from agentbook.session.loop import Session, run_session
from agentbook.session.result import SessionResult
from agentbook.session.tools import Tool, ToolContext, ToolResult, get_tools, register_tool

__all__ = ["DEFAULT_TOOLS", "Budgets", "Session", "SessionConfig", "SessionResult", "Tool", "ToolContext",
           "ToolResult", "get_tools", "history_from_transcript", "register_tool", "run_session"]
