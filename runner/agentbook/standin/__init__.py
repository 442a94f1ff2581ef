"""An Anthropic-compatible scripted model server for tests, demos and runbook tests (README.md here)."""

from agentbook.standin.script import Script, load_script, parse_script
from agentbook.standin.server import StandinServer, ensure_server, running, stop_all

__all__ = ["Script", "StandinServer", "ensure_server", "load_script", "parse_script", "running", "stop_all"]
