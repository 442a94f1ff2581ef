"""`--agent command:'ARGV'`: any agent CLI that takes a prompt and works in the current folder.

Each message (a step's prompt, or a gate's failure) is one run of ARGV in the run's worktree, inside
the agent jail, with the relay as `ANTHROPIC_BASE_URL` and the relay's token as `ANTHROPIC_API_KEY`
(so a CLI that speaks the Messages API is keyless, budgeted and traced like Claude Code; one that
does not has no way out at all). The prompt replaces a `{prompt}` argument, or goes to stdin when
there is none. A generic CLI has no session to resume, so each message is a fresh start; the gate's
failure message says what to fix. Outcome: the relay's budget stop and the wall clock first, then
exit 0 is `completed` and anything else `crashed` with the exit code and the end of its stderr.
"""

from __future__ import annotations

import shlex
from typing import Any

from agentbook.errors import FatalError
from agentbook.outcome import Outcome, OutcomeKind
from agentbook.runbooks.agent_cli import CliAgentSession, require_jail
from agentbook.runbooks.engines import AgentSession, EngineContext

PLACEHOLDER = "{prompt}"
OUTPUT_TAIL = 4000


def parse_command(arg: str) -> list[str]:
    try:
        argv = shlex.split(arg)
    except ValueError as err:
        raise FatalError(f"agent command:{arg!r} does not parse: {err}") from None
    if not argv:
        raise FatalError("agent 'command:' needs a command line, e.g. --agent command:'codex exec --json {prompt}'")
    return argv


class CommandEngine:
    name = "command"

    def __init__(self, arg: str = "") -> None:
        self.argv = parse_command(arg)

    def check(self, tools: list[str], bash_allow: list[str] | None) -> None:
        require_jail(self.name)

    def open(self, ctx: EngineContext, state: dict[str, Any] | None) -> AgentSession:
        require_jail(self.name)
        return CommandSession(ctx, self.argv)


class CommandSession(CliAgentSession):
    agent = "command"

    def __init__(self, ctx: EngineContext, argv: list[str]) -> None:
        super().__init__(ctx, None)
        self.argv = argv
        self.transcript.event("session_start", agent=self.agent, command=argv, model=ctx.model, root=str(self.root),
                              sandbox="bwrap", budgets=ctx.budgets.to_json())
        self._out = ""

    async def _send(self, text: str) -> Outcome:
        uses_arg = any(PLACEHOLDER in a for a in self.argv)
        argv = [a.replace(PLACEHOLDER, text) for a in self.argv] if uses_arg else self.argv
        self._out = ""
        code, timed_out = await self.run_jailed(argv, b"" if uses_arg else text.encode(), self._on_line)
        self._final = self._out.strip()[-OUTPUT_TAIL:]
        self.transcript.event("agent_output", exit_code=code, stdout=self._final, stderr=self.stderr_tail)
        limit = self.limit_outcome(timed_out)
        if limit is not None:
            return limit
        if code == 0:
            return Outcome(OutcomeKind.COMPLETED, "", "the agent command exited 0", self.evidence())
        return Outcome(OutcomeKind.CRASHED, "agent_exit", f"the agent command exited {code}",
                       {**self.evidence(), "exit_code": code, **self.crash_evidence()})

    def _on_line(self, line: bytes) -> bool:
        self._out = (self._out + line.decode("utf-8", "replace"))[-OUTPUT_TAIL * 2:]
        return True
