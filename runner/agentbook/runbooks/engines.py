"""Which agent works a run's steps: engines behind one small protocol, chosen by name.

The runner keeps everything it owns (gates, commits and trailers, checkpoints and resume, reports,
PRs) and asks an engine only for an `AgentSession`: something that takes one message at a time
(a step's prompt, or a gate's failure) and answers with a typed `Outcome`, counting its spend.

    agentbook      agentbook's own session loop (agentbook.session), the default
    claude-code    each step a headless Claude Code session (runbooks/claude_code.py)
    command:ARGV   any agent CLI that takes a prompt and works in a folder (runbooks/command_agent.py)

An engine is registered by name with a factory (or "module:attribute", imported on first use so the
CLI's start-up does not pay for engines it does not run); the built-in loop is registered the same way.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from agentbook.errors import FatalError
from agentbook.models.base import Usage
from agentbook.outcome import Outcome
from agentbook.session.config import Budgets
from agentbook.session.limits import Limits
from agentbook.session.transcript import Transcript

if TYPE_CHECKING:
    from agentbook.session import Session

DEFAULT_ENGINE = "agentbook"


@dataclass
class EngineContext:
    """What the runner hands an engine for one run (or one resumed stretch of it)."""

    model: str
    root: Path  # the run's worktree
    system: str
    tools: list[str]
    skills: dict[str, tuple[Path, str]]  # name -> (SKILL.md, body)
    budgets: Budgets
    protected: list[str]
    bash_allow: list[str] | None
    transcript_path: Path
    trace_path: Path
    session_id: str  # the run id
    secrets: list[str]
    env: dict[str, str]
    state_dir: Path  # the run's own folder for the engine's files (outside the worktree)
    metadata: dict[str, Any] = field(default_factory=dict)
    spent: tuple[Usage, float, int] = field(default_factory=lambda: (Usage(), 0.0, 0))  # before a resume
    sandbox: str = "auto"  # where bash runs (agentbook.session.sandbox): --sandbox of the run
    limits: Limits = field(default_factory=Limits)  # the sandbox's limits: runbook limits.sandbox and --limit


class AgentSession(Protocol):
    """One agent conversation across a run's steps."""

    transcript: Transcript

    @property
    def usage(self) -> Usage: ...

    @property
    def cost_usd(self) -> float: ...

    @property
    def cost_estimated(self) -> bool: ...

    @property
    def turns(self) -> int: ...

    async def send(self, text: str) -> Outcome: ...

    def checkpoint(self) -> dict[str, Any]:
        """JSON that `Engine.open(ctx, state)` takes back after a kill to continue the conversation."""
        ...

    def final_text(self) -> str: ...

    async def aclose(self) -> None: ...


class Engine(Protocol):
    name: str

    def check(self, tools: list[str], bash_allow: list[str] | None) -> None:
        """Pre-flight: a FatalError now (exit 3) for what would fail in the first step."""
        ...

    def open(self, ctx: EngineContext, state: dict[str, Any] | None) -> AgentSession: ...


EngineFactory = Callable[[str], Engine]  # the text after "name:" ("" when none) -> an engine
_REGISTRY: dict[str, EngineFactory | str] = {}


def register_engine(name: str, factory: EngineFactory | str) -> None:
    """Make `--agent NAME[:ARG]` and `agent: NAME[:ARG]` pick this engine."""
    _REGISTRY[name] = factory


def engine_names() -> list[str]:
    return sorted(_REGISTRY)


def parse_agent(spec: str) -> tuple[str, str]:
    name, _, arg = spec.partition(":")
    return name.strip(), arg


def engine_for(spec: str) -> Engine:
    name, arg = parse_agent(spec)
    factory = _REGISTRY.get(name)
    if factory is None:
        raise FatalError(f"unknown agent {name!r}", hint=f"agents: {', '.join(engine_names())} (command:'ARGV...')")
    if isinstance(factory, str):
        module, _, attr = factory.partition(":")
        factory = getattr(importlib.import_module(module), attr)
        _REGISTRY[name] = factory
    return factory(arg)


# -- the built-in session loop, as an engine ----------------------------------------------------------


class _BuiltinSession:
    """agentbook's own `Session`, which already speaks this protocol but for its checkpoint."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self.transcript = session.transcript

    @property
    def usage(self) -> Usage:
        return self._session.usage

    @property
    def cost_usd(self) -> float:
        return self._session.cost_usd

    @property
    def cost_estimated(self) -> bool:
        return self._session.cost_estimated

    @property
    def turns(self) -> int:
        return self._session.turns

    async def send(self, text: str) -> Outcome:
        return await self._session.send(text)

    def checkpoint(self) -> dict[str, Any]:
        return {"messages": self._session.messages}

    def final_text(self) -> str:
        return self._session.result().final_text

    async def aclose(self) -> None:
        await self._session.aclose()


class BuiltinEngine:
    name = DEFAULT_ENGINE

    def __init__(self, arg: str = "") -> None:
        if arg:
            raise FatalError(f"agent 'agentbook' takes no argument, got {arg!r}")

    def check(self, tools: list[str], bash_allow: list[str] | None) -> None:
        return None  # the plan already checked the tool names against the registry

    def open(self, ctx: EngineContext, state: dict[str, Any] | None) -> AgentSession:
        from agentbook.runbooks.skill_tool import SkillTool
        from agentbook.session import Session, SessionConfig

        tools: list[Any] = [SkillTool(ctx.skills) if t == "skill" else t for t in ctx.tools]
        config = SessionConfig(
            model=ctx.model, root=ctx.root, system=ctx.system, tools=tools, budgets=ctx.budgets,
            protected=[*ctx.protected, ".git"], bash_allow=ctx.bash_allow, transcript_path=ctx.transcript_path,
            trace_path=ctx.trace_path, session_id=ctx.session_id, secrets=ctx.secrets, env=ctx.env,
            metadata=ctx.metadata, sandbox=ctx.sandbox, limits=ctx.limits)
        return _BuiltinSession(Session(config, history=(state or {}).get("messages") or None))


register_engine(DEFAULT_ENGINE, BuiltinEngine)
register_engine("claude-code", "agentbook.runbooks.claude_code:ClaudeCodeEngine")
register_engine("command", "agentbook.runbooks.command_agent:CommandEngine")
