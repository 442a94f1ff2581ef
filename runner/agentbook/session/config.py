"""What a session is allowed to do: its model, root, tools, limits and protected paths."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentbook.errors import FatalError
from agentbook.session.limits import Limits

if TYPE_CHECKING:
    from agentbook.models.base import Model
    from agentbook.session.tools import Tool

DEFAULT_TOOLS = ("read", "write", "edit", "glob", "grep", "bash")


# What a run or session that names no spend or time limit gets: a ticket or runbook that leaves them out
# (or a bot's workflow that forgets --max-usd) must not run unbounded on the runner's key. Raise them with
# --max-usd / --timeout (or a runbook of agentbook's own); past the ceilings a value is taken for a slip.
DEFAULT_MAX_USD = 10.0
DEFAULT_WALL_SECONDS = 2 * 3600.0
MAX_USD_CEILING = 10_000.0
MAX_WALL_SECONDS = 7 * 86400.0


@dataclass
class Budgets:
    """Limits checked before every model request; `None` means unlimited (only a library caller can ask
    for that: the CLI and runbooks fall back to the defaults above).

    `max_turns` counts API rounds (one request each), `max_tokens` all input (cached included) plus
    output tokens, `max_tool_errors` consecutive failed tool calls. Once any limit is `reserve` used,
    the agent is told once to save its work and finish. Absurd values (NaN, infinite, zero, negative,
    past the ceilings) are a FatalError: NaN compares false with everything, so it bounded nothing.
    """

    max_turns: int | None = 50
    max_tokens: int | None = None
    max_usd: float | None = DEFAULT_MAX_USD
    wall_seconds: float | None = DEFAULT_WALL_SECONDS
    max_tool_errors: int | None = 8
    reserve: float = 0.85

    def __post_init__(self) -> None:
        for name, ceiling, shown in (("max_usd", MAX_USD_CEILING, f"${MAX_USD_CEILING:,.0f}"),
                                     ("wall_seconds", MAX_WALL_SECONDS, f"{MAX_WALL_SECONDS / 86400:g} days")):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= ceiling:
                raise FatalError(f"budget {_BUDGET_NAMES[name]} must be above 0 and at most {shown}, got {value!r}",
                                 hint="a limit past the ceiling is taken for a slip; split the work instead")
        for name in ("max_turns", "max_tokens", "max_tool_errors"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise FatalError(f"budget {name} must be a whole number of 0 or more, got {value!r}")

    def to_json(self) -> dict[str, Any]:
        return {"max_turns": self.max_turns, "max_tokens": self.max_tokens, "max_usd": self.max_usd,
                "wall_seconds": self.wall_seconds, "max_tool_errors": self.max_tool_errors,
                "reserve": self.reserve}


_BUDGET_NAMES = {"max_usd": "max_usd (--max-usd)", "wall_seconds": "timeout (--timeout)"}


def _new_session_id() -> str:
    return "s-" + uuid.uuid4().hex[:12]


@dataclass
class SessionConfig:
    """Everything a `Session` needs. `model` is a spec string (`scripted:x.script.yaml`) or a Model.

    `tools` are registry names or Tool objects. `protected` are globs relative to `root` the agent
    may read but never change. `bash_allow` are command patterns (`agentbook.session.allowlist`); `None`
    means any command, which is only allowed when bubblewrap is available.
    """

    model: str | Model
    root: Path | str
    system: str = ""
    tools: list[str | Tool] = field(default_factory=lambda: list[Any](DEFAULT_TOOLS))
    budgets: Budgets = field(default_factory=Budgets)
    protected: list[str] = field(default_factory=list)
    bash_allow: list[str] | None = None
    transcript_path: Path | str | None = None
    trace_path: Path | str | None = None
    session_id: str = field(default_factory=_new_session_id)
    secrets: list[str] = field(default_factory=list)
    # Below: defaults suit most callers.
    max_output_tokens: int = 8192  # per model response
    thinking: dict[str, Any] | None = None  # e.g. {"type": "enabled", "budget_tokens": 4000}
    sandbox: str = "auto"  # auto | bwrap | allowlist | none-i-accept-the-risk (see session.sandbox)
    bash_timeout: float = 120.0
    limits: Limits = field(default_factory=Limits)  # the sandbox's resources and every tool call's wall clock
    turn_retries: int = 4  # whole-turn retries for mid-stream errors and rate limits
    env: dict[str, str] = field(default_factory=dict)  # extra environment for bash
    metadata: dict[str, Any] = field(default_factory=dict)  # sent with each request
