"""`--agent claude-code`: a run's steps worked by Claude Code in headless mode.

Each step (and each gate failure sent back) is one `claude -p --output-format stream-json --verbose`
process in the run's worktree, inside the agent jail (runbooks/agent_cli.py), talking to the model
only through the keyless relay. The first step starts a conversation with a session id chosen here;
later steps and gate failures `--resume` it, so Claude Code keeps the context of the run as agentbook's
own loop does, and a resumed run picks it up from the run's agent home.

Mapped from the runbook: the system prompt (`--append-system-prompt`), tools (`--tools`, only the
built-ins the runbook names) and the bash allow-list (`--allowedTools "Bash(PATTERN)"`: as root Claude
Code refuses `--dangerously-skip-permissions`, and in `-p` mode anything not allowed is denied), the
turn limit (`--max-turns`, what is left of the run's), the model (its wire name), and the skills
(copied to `~/.claude/skills/NAME/` of the agent home). Settings come only from that home
(`--setting-sources user`; all of Claude Code's configuration there but the sessions' records is
reset before every step), MCP servers from nowhere
(`--strict-mcp-config`): a repository's `.claude/settings.json` cannot widen what the agent may do.

The outcome is read from the event stream, never from the exit code alone: a permission denial stops
the agent at once and the step ends `blocked`; `error_max_turns` is `budget_exhausted` (turns); a
refusal at the relay is `budget_exhausted` (usd/tokens); an error result is `api_error` or `crashed`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import yaml

from agentbook.catalog.frontmatter import parse_front_matter
from agentbook.catalog.skill import plain_name
from agentbook.errors import FatalError
from agentbook.fsutil import atomic_write_text, open_regular
from agentbook.models.relay import wire_model
from agentbook.outcome import Outcome, OutcomeKind
from agentbook.runbooks.agent_cli import (
    CliAgentSession,
    clear,
    elf_interpreter,
    home_folder,
    require_jail,
    seal,
)
from agentbook.runbooks.engines import AgentSession, EngineContext

BINARY_ENV = "AGENTBOOK_CLAUDE"  # the `claude` to run; default: the one on PATH
TOOLS = {"read": "Read", "write": "Write", "edit": "Edit", "glob": "Glob", "grep": "Grep", "bash": "Bash",
         "skill": "Skill"}
RESULT_TAIL = 2000


def find_claude() -> Path | None:
    named = os.environ.get(BINARY_ENV)
    if named:
        return Path(named) if Path(named).is_file() else None
    found = shutil.which("claude")
    return Path(found) if found else None


def permission_rules(tools: list[str], bash_allow: list[str] | None) -> tuple[list[str], list[str]]:
    """(built-in tools to offer, `--allowedTools` rules) for the runbook's tools and bash allow-list."""
    unknown = [t for t in tools if t not in TOOLS]
    if unknown:
        raise FatalError(f"agent 'claude-code' has no tool like agentbook's {', '.join(map(repr, unknown))}",
                         hint="name only read, write, edit, glob, grep, bash, skill in the runbook's tools "
                              "(agentbook's own commands run through bash: add them to bash.allow)")
    offered = [TOOLS[t] for t in tools]
    rules = [TOOLS[t] for t in tools if t != "bash"]
    if "bash" in tools:
        if bash_allow is None:
            rules.append("Bash")
        for pattern in bash_allow or []:
            if any(c in pattern for c in "()\n"):
                raise FatalError(f"bash allow pattern {pattern!r} cannot be a Claude Code rule (no parentheses or newlines)")
            rules.append(f"Bash({pattern})")
    return offered, rules


class ClaudeCodeEngine:
    name = "claude-code"

    def __init__(self, arg: str = "") -> None:
        if arg:
            raise FatalError(f"agent 'claude-code' takes no argument, got {arg!r}",
                             hint=f"pick the binary with {BINARY_ENV}=/path/to/claude")

    def check(self, tools: list[str], bash_allow: list[str] | None) -> None:
        permission_rules(tools, bash_allow)
        if find_claude() is None:
            raise FatalError("agent 'claude-code': no `claude` command found",
                             hint=f"npm i -g @anthropic-ai/claude-code, or set {BINARY_ENV}=/path/to/claude")
        require_jail(self.name)
        require_sealable(find_claude())

    def open(self, ctx: EngineContext, state: dict[str, Any] | None) -> AgentSession:
        binary = find_claude()
        if binary is None:
            raise FatalError("agent 'claude-code': no `claude` command found", hint=f"set {BINARY_ENV}")
        require_jail(self.name)
        require_sealable(binary)
        session = (state or {}).get("claude_session")
        return ClaudeCodeSession(ctx, binary, session if _session_id(session) else None)


def require_sealable(binary: Path | None) -> None:
    """Claude Code's events decide a step's outcome and reach the report, so they must come from it
    alone: it is started so no command it runs can write into its output (agent_cli.seal: a preloaded
    library, or the loader's seal), which needs a dynamically linked program."""
    if binary is not None and elf_interpreter(Path(os.path.realpath(binary))) is None:
        raise FatalError(f"agent 'claude-code': {binary} is not a dynamically linked program, so the commands it "
                         "runs could write events of their own into the output the runner reads",
                         hint=f"point {BINARY_ENV} at Claude Code's native binary (bin/claude.exe of the npm "
                              "package, or the one its installer puts in ~/.local/share/claude)")


SESSION_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _session_id(value: Any) -> bool:
    """A session id as Claude Code makes them. It is passed as `--resume ID`, whose value is optional:
    an id like `--settings={...}` would be read as an option of its own."""
    return isinstance(value, str) and SESSION_ID.fullmatch(value) is not None


CONFIG_KEPT = ("projects",)  # of ~/.claude between steps: the sessions' records, which `--resume` reads
MODEL_VARIABLES = ("ANTHROPIC_MODEL", "ANTHROPIC_SMALL_FAST_MODEL", "ANTHROPIC_DEFAULT_HAIKU_MODEL",
                   "ANTHROPIC_DEFAULT_SONNET_MODEL", "ANTHROPIC_DEFAULT_OPUS_MODEL", "CLAUDE_CODE_SUBAGENT_MODEL")


class ClaudeCodeSession(CliAgentSession):
    agent = "claude-code"

    def __init__(self, ctx: EngineContext, binary: Path, session: str | None) -> None:
        super().__init__(ctx, binary)
        self.session = session
        self.model_name = wire_model(ctx.model)
        self.offered, self.rules = permission_rules(ctx.tools, ctx.bash_allow)
        assert self.binary is not None
        self.seal = seal(self.binary, ctx.state_dir / "agent-loader")
        self._reset_config()
        self.transcript.event("session_start", agent=self.agent, model=ctx.model, root=str(self.root),
                              sandbox="bwrap", tools=self.offered, allowed=self.rules, budgets=ctx.budgets.to_json(),
                              system=ctx.system, resumed=session)
        self._reset()

    def checkpoint(self) -> dict[str, Any]:
        return {"claude_session": self.session}

    def env(self) -> dict[str, str]:
        """Every model Claude Code would pick by itself (its small fast one for background requests, a
        subagent's) is the run's: the relay refuses any other."""
        pinned = dict.fromkeys(MODEL_VARIABLES, self.model_name)
        return {**super().env(), **pinned}

    def _install_skills(self) -> None:
        """Each skill's folder, with a SKILL.md whose front-matter is only its name and description.
        Claude Code acts on more keys than the spec's (`allowed-tools` runs tools without the run's
        permission rules, `hooks` runs commands, `model` picks another model, `context: fork` another
        agent), and a repository's skill is a file the ticket's author may have written."""
        target = home_folder(self.home, ".claude", "skills")  # no link the agent left on the way
        for name, (path, body) in self.ctx.skills.items():
            if not plain_name(name):  # the catalog gives none such; a folder out of the home is never made
                raise FatalError(f"skill name {name!r} is not a plain folder name")
            dest = target / name
            clear(dest)
            copy_skill_folder(Path(path).parent, dest)
            copied = dest / "SKILL.md"  # not there when the skill's own was a link: it is not followed
            parsed = parse_front_matter(copied.read_text(encoding="utf-8", errors="replace")
                                        if copied.is_file() else "", str(path))
            description = parsed.data.get("description")
            kept = {"name": name, "description": description if isinstance(description, str) else ""}
            front = yaml.safe_dump(kept, sort_keys=False, allow_unicode=True, width=1 << 16)
            atomic_write_text(dest / "SKILL.md", f"---\n{front}---\n{body}")

    def _reset(self) -> None:
        self._result: dict[str, Any] | None = None
        self._denied: dict[str, Any] | None = None
        self._calls: dict[str, tuple[str, Any, int]] = {}

    def _argv(self) -> list[str]:
        assert self.binary is not None
        remaining = self.ctx.budgets.max_turns
        if remaining is not None:
            remaining = max(1, remaining - self.turns_before - self.turns)
        argv = [str(self.binary), "-p", "--output-format", "stream-json", "--verbose", "--model", self.model_name,
                "--setting-sources", "user", "--strict-mcp-config", "--tools", ",".join(self.offered)]
        if self.ctx.system:
            argv += ["--append-system-prompt", self.ctx.system]
        if remaining is not None:
            argv += ["--max-turns", str(remaining)]
        if self.session is None:
            self.session = str(uuid.uuid4())
            argv += ["--session-id", self.session]
        else:
            argv += ["--resume", self.session]
        if self.rules:
            argv += ["--allowedTools", *self.rules]
        return argv  # the prompt goes on stdin: nothing it says can be read as an option

    def _reset_config(self) -> None:
        """Claude Code's configuration in the home as the runner makes it, before every step. The home
        outlives a step (the session's record, for `--resume`, is in ~/.claude/projects), and the step's
        allowed commands can write anything in it: `~/.claude.json` (per-project allowed tools, trust),
        user skills and commands whose front-matter grants tools and whose `!`-lines run commands, user
        subagents, plugins. All of it but the session records goes; the run's skills are copied again."""
        claude = home_folder(self.home, ".claude")
        for entry in list(claude.iterdir()):
            if entry.name not in CONFIG_KEPT:
                clear(entry)
        for entry in list(self.home.iterdir()):
            if entry.name.startswith(".claude.json"):  # and its .backup files
                clear(entry)
        # a folder in the place of settings.json would stop the write; a link is replaced anyway
        atomic_write_text(claude / "settings.json", "{}\n")
        self._install_skills()

    async def _send(self, text: str) -> Outcome:
        self._reset()
        self._reset_config()  # what the agent wrote for Claude Code last step does not carry over
        code, timed_out = await self.run_jailed(self._argv(), text.encode(), self._on_line)
        return self._outcome(code, timed_out)

    # -- the event stream ------------------------------------------------------------------------

    def _on_line(self, line: bytes) -> bool:
        try:
            event = json.loads(line)
        except (ValueError, RecursionError):  # any process in the jail can write to Claude Code's stdout
            return True
        if not isinstance(event, dict):
            return True
        kind, sub = event.get("type"), event.get("subtype")
        if kind == "system" and sub == "init":
            if _session_id(event.get("session_id")):
                self.session = str(event["session_id"])
            self.transcript.event("agent_init", session=self.session, version=event.get("claude_code_version"),
                                  tools=event.get("tools"), skills=event.get("skills"),
                                  key_source=event.get("apiKeySource"))
        elif kind == "assistant":
            self._assistant(_object(event.get("message")))
        elif kind == "user":
            self._tool_results(_object(event.get("message")))
        elif kind == "system" and sub == "permission_denied":
            call = self._calls.get(str(event.get("tool_use_id")), ("", None, 0))
            self._denied = {"tool": event.get("tool_name"), "input": call[1], "message": event.get("message")}
            self.transcript.event("permission_denied", **self._denied)
            return False  # fail closed, as agentbook's own loop does: the first refused call ends the step
        elif kind == "system" and sub == "api_retry":
            self.transcript.event("agent_retry", attempt=event.get("attempt"), status=event.get("error_status"),
                                  error=event.get("error"))
        elif kind == "result":
            self._result = event
            self._final = str(event.get("result") or "")
        return True

    def _assistant(self, message: dict[str, Any]) -> None:
        content = message.get("content")
        for block in content if isinstance(content, list) else []:
            if isinstance(block, dict) and block.get("type") == "tool_use":
                self._calls[str(block.get("id"))] = (str(block.get("name")), block.get("input"), time.time_ns())
        self.transcript.event("assistant", content=content, model=message.get("model"))

    def _tool_results(self, message: dict[str, Any]) -> None:
        content = message.get("content")
        for block in content if isinstance(content, list) else []:
            if not isinstance(block, dict) or block.get("type") != "tool_result":
                continue
            call_id = str(block.get("tool_use_id"))
            name, args, start = self._calls.pop(call_id, ("?", None, time.time_ns()))
            result = _text(block.get("content"))
            error = bool(block.get("is_error"))
            self.trace.tool(start_ns=start, call_id=call_id, name=name, args=args, result=result, is_error=error)
            self.transcript.event("tool", id=call_id, name=name, input=args, content=result, is_error=error)

    # -- the outcome -----------------------------------------------------------------------------

    def _outcome(self, code: int | None, timed_out: bool) -> Outcome:
        limit = self.limit_outcome(timed_out)
        if limit is not None:
            return limit
        evidence = {**self.evidence(), "session": self.session}
        result = self._result or {}
        denied = self._denied or _first_denial(result)
        if denied is not None:
            given = denied.get("input")
            args: dict[str, Any] = given if isinstance(given, dict) else {}
            what = args.get("command") or args.get("file_path") or denied.get("message")
            return Outcome(OutcomeKind.BLOCKED, "permission", f"{denied.get('tool')} refused: {what}",
                           {**evidence, "denied": denied})
        if self._result is None:
            return Outcome(OutcomeKind.CRASHED, "agent_exit", f"claude exited ({code}) without a result",
                           {**evidence, "exit_code": code, **self.crash_evidence()})
        sub = result.get("subtype")
        if sub == "error_max_turns":
            return Outcome(OutcomeKind.BUDGET_EXHAUSTED, "turns", f"budget exhausted: used all {result.get('num_turns')} turns",
                           evidence)
        if sub == "error_max_budget_usd":
            return Outcome(OutcomeKind.BUDGET_EXHAUSTED, "usd", "budget exhausted: Claude Code's own spend limit", evidence)
        if result.get("is_error") or sub != "success":
            text = str(result.get("result") or sub)[-RESULT_TAIL:]
            status = result.get("api_error_status") or self._upstream_status()
            if status:
                return Outcome(OutcomeKind.API_ERROR, str(status), f"model API error: {text}",
                               {**evidence, "status": status})
            return Outcome(OutcomeKind.CRASHED, str(sub), f"claude ended with an error: {text}",
                           {**evidence, **self.crash_evidence()})
        if code not in (0, None):
            return Outcome(OutcomeKind.CRASHED, "agent_exit", f"claude exited {code} after its result",
                           {**evidence, **self.crash_evidence()})
        return Outcome(OutcomeKind.COMPLETED, "", "the agent ended its turn", evidence)

    def _upstream_status(self) -> int | None:
        failed = [c.status for c in self.relay.stats.calls if c.status >= 400]
        return failed[-1] if failed else None


def _first_denial(result: dict[str, Any]) -> dict[str, Any] | None:
    denials = result.get("permission_denials")
    if not isinstance(denials, list) or not denials or not isinstance(denials[0], dict):
        return None
    first = denials[0]
    return {"tool": first.get("tool_name"), "input": first.get("tool_input"), "message": "permission denied"}


def _object(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one: a line of the stream may be anyone's."""
    return value if isinstance(value, dict) else {}


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content if isinstance(b, dict))
    return str(content or "")


SKILL_FILE_MAX_BYTES = 16 << 20  # a skill's references and scripts; past this a file is left out


def copy_skill_folder(src: Path, dest: Path) -> list[str]:
    """Copy a skill's folder into the agent's home: its regular files only, each read without following
    a symlink or blocking, at most SKILL_FILE_MAX_BYTES each; the names left out are returned. The home
    is the jailed agent's to read, and a repository's skill folder is the ticket author's to fill: with
    symlinks followed, `env -> /proc/self/environ` put the runner's environment (its API key, the
    GitHub token) in the jail, a fifo blocked the run and `/dev/zero` filled the disk."""
    left_out: list[str] = []
    for folder, dirs, files in os.walk(src):  # never enters a symlinked folder
        dirs[:] = [d for d in dirs if d not in (".git", "__pycache__") and not os.path.islink(os.path.join(folder, d))]
        into = dest / Path(folder).relative_to(src)
        into.mkdir(parents=True, exist_ok=True)
        for name in files:
            try:
                with open_regular(Path(folder, name), follow=False) as handle:
                    data = handle.read(SKILL_FILE_MAX_BYTES + 1)
            except OSError:  # a symlink (ELOOP with O_NOFOLLOW), fifo, socket or device
                data = None
            if data is None or len(data) > SKILL_FILE_MAX_BYTES:
                left_out.append(str(Path(folder, name).relative_to(src)))
                continue
            (into / name).write_bytes(data)
    return left_out
