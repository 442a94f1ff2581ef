"""The agent loop: send the conversation, run the tools the model asks for, until it ends its turn or a
limit hits. Every way out is a typed `Outcome`; nothing that did not finish reports `completed`.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from pathlib import Path
from typing import Any, Self

from agentbook.confine import MODEL_ENV
from agentbook.errors import FatalError
from agentbook.models.base import Model, ModelRequest, ModelResponse, Usage
from agentbook.models.errors import ModelError
from agentbook.models.pricing import cost_usd
from agentbook.outcome import Outcome, OutcomeKind
from agentbook.session import history as history_mod
from agentbook.session import retry, sandbox
from agentbook.session.budget import BudgetTracker, Spend
from agentbook.session.config import SessionConfig
from agentbook.session.redact import Redactor
from agentbook.session.result import SessionResult
from agentbook.session.tools import Tool, ToolContext, ToolResult, call_tool, get_tools, tool_spec
from agentbook.session.trace import TraceRecorder
from agentbook.session.transcript import Transcript

EPHEMERAL = {"type": "ephemeral"}
TOOL_RESULT_MAX_CHARS = 100_000  # a safety net for registered tools that do not bound themselves
TOOL_GRACE_SECONDS = 2.0  # past a call's own limit (bash stops itself then), before the loop abandons it
NOT_RUN = "not run: the session stopped at an earlier refused call in this turn"


class Session:
    """One conversation with a model over tools, confined to `config.root`.

        async with Session(config) as session:
            outcome = await session.send("Fix the failing test")
            result = session.result()
    """

    def __init__(self, config: SessionConfig, history: list[dict[str, Any]] | None = None) -> None:
        self.config = config
        self.root = Path(config.root).resolve()
        if not self.root.is_dir():
            raise FatalError(f"session root {config.root} is not a folder")
        self.tools = _build_tools(config.tools)
        self.sandbox = "none"
        if any(t.name == "bash" for t in self.tools):
            self.sandbox = sandbox.resolve_mode(config.sandbox)
            if self.sandbox == "allowlist" and config.bash_allow is None:
                # no sandbox and no allow-list: every command would be refused, so do not offer bash
                self.tools = [t for t in self.tools if t.name != "bash"]
                self.sandbox = "none"
        self._by_name = {t.name: t for t in self.tools}
        self.messages: list[dict[str, Any]] = history_mod.repair(history or [])
        self.usage = Usage()
        self.cost_usd = 0.0
        self.cost_estimated = False
        self.turns = 0
        self.retries = 0
        self.tool_calls = 0
        self.files_changed: list[str] = []
        self._model, self._owns_model = _model(config.model)
        self._budget = BudgetTracker(config.budgets)
        self._tool_errors = 0
        self._outcome: Outcome | None = None
        redactor = Redactor(config.secrets)
        self.transcript = Transcript(config.transcript_path, config.session_id, redactor)
        self.trace = TraceRecorder(config.trace_path, config.session_id, redactor)
        self._ctx = ToolContext(root=self.root, protected=list(config.protected), bash_allow=config.bash_allow,
                                sandbox=self.sandbox, bash_timeout=config.bash_timeout, env={**config.env, MODEL_ENV: self._model.spec},
                                session_id=config.session_id, limits=config.limits)
        self._tool_specs = [tool_spec(t) for t in self.tools]
        if self._tool_specs:  # tools then system form the stable, cached prefix
            self._tool_specs[-1] = {**self._tool_specs[-1], "cache_control": EPHEMERAL}
        self._system = [{"type": "text", "text": config.system, "cache_control": EPHEMERAL}] \
            if config.system else None
        self.transcript.event("session_start", model=self._model.spec, root=str(self.root), sandbox=self.sandbox,
                              tools=[t.name for t in self.tools], protected=config.protected,
                              bash_allow=config.bash_allow, budgets=config.budgets.to_json(),
                              limits=config.limits.to_json(),
                              system=config.system, history_messages=len(self.messages))

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self.transcript.close()
        if self._owns_model:
            await self._model.aclose()

    # -- the public step -------------------------------------------------------------------------

    async def send(self, text: str) -> Outcome:
        """Add a user message and run the tool loop until the model ends its turn or a limit hits."""
        self._budget.start()
        self._add_user_text(text)
        self.transcript.event("user", text=text)
        try:
            outcome = await self._loop()
        except asyncio.CancelledError:
            self._finish(Outcome(OutcomeKind.CRASHED, "cancelled", "the session was cancelled"))
            self.trace.write()
            raise
        except Exception as err:  # noqa: BLE001 - a bug in a tool hook or here: typed, with the traceback as evidence
            outcome = Outcome(OutcomeKind.CRASHED, type(err).__name__, f"session crashed: {err}",
                              {"traceback": traceback.format_exc(limit=8)})
        self._finish(outcome)
        # rendered here (a worker thread would hold the GIL as long, and hand it back and forth), written
        # and fsynced off the loop so the disk's wait does not stall the other sessions
        if self.trace.path is not None:
            await asyncio.to_thread(self.trace.write, self.trace.render())
        return outcome

    def result(self) -> SessionResult:
        outcome = self._outcome or Outcome(OutcomeKind.CRASHED, "not_run", "send() was never called")
        return SessionResult(
            session_id=self.config.session_id, outcome=outcome, model=self._model.spec, turns=self.turns,
            usage=self.usage, cost_usd=self.cost_usd, cost_estimated=self.cost_estimated, sandbox=self.sandbox,
            final_text=self._final_text(), files_changed=list(self.files_changed), tool_calls=self.tool_calls,
            retries=self.retries, wall_seconds=self._budget.elapsed(),
            transcript_path=Path(self.config.transcript_path) if self.config.transcript_path else None,
            trace_path=Path(self.config.trace_path) if self.config.trace_path else None,
            budgets=self.config.budgets.to_json())

    # -- the loop --------------------------------------------------------------------------------

    async def _loop(self) -> Outcome:
        while True:
            spent = self._budget.exhausted(self._spend())
            if spent is not None:
                return Outcome(OutcomeKind.BUDGET_EXHAUSTED, spent[0], f"budget exhausted: {spent[1]}",
                               self._evidence())
            note = self._budget.wrap_up_note(self._spend())
            if note is not None:
                self._add_user_text(note)
                self.transcript.event("budget_warning", text=note)
            response = await self._request()
            if isinstance(response, Outcome):
                return response
            if response.content:
                self.messages.append({"role": "assistant", "content": response.content})
            outcome = await self._act(response)
            if outcome is not None:
                return outcome

    async def _act(self, response: ModelResponse) -> Outcome | None:
        """Do what the reply asks: run its tool calls, or end the turn. None means: ask the model again."""
        tool_uses = [b for b in response.content if b.get("type") == "tool_use"]
        if response.stop_reason == "refusal":
            return Outcome(OutcomeKind.BLOCKED, "refusal", "the model refused the task", self._evidence())
        if not tool_uses:
            if response.stop_reason not in ("max_tokens", "pause_turn"):
                return Outcome(OutcomeKind.COMPLETED, "", "the model ended its turn", self._evidence())
            note = "[agentbook] Your reply was cut off; continue where you stopped."
            self._add_user_text(note)
            self.transcript.event("note", text=note)
            return None
        denied = await self._run_tools(tool_uses, truncated=response.stop_reason == "max_tokens")
        if denied is None:
            return None
        what = denied.get("path") or denied.get("command") or denied.get("tool")
        return Outcome(OutcomeKind.BLOCKED, "permission", f"{denied.get('tool')} refused: {what}",
                       {**self._evidence(), "denied": denied})

    async def _request(self) -> ModelResponse | Outcome:
        """One model round with whole-turn retries; an Outcome when it cannot be had."""
        attempt = 0
        while True:
            request = self._build_request()
            start = time.time_ns()
            deadline = asyncio.timeout(self._budget.wall_remaining())
            try:
                async with deadline:
                    response = await self._model.complete(request)
            except TimeoutError:
                if not deadline.expired():
                    raise
                self._trace_chat(start, request, None, "timeout: wall-clock budget hit during the request")
                return self._wall_outcome()
            except ModelError as err:
                failure = retry.classify(err)
                self._trace_chat(start, request, None, failure.message)
                attempt += 1
                self.transcript.event("model_error", attempt=attempt, **failure.evidence)
                if not failure.retryable or attempt > self.config.turn_retries:
                    return _api_error(failure, attempt)
                if not await self._wait(retry.pause(attempt)):
                    return self._wall_outcome()
                self.retries += 1
                continue
            self._account(start, request, response)
            return response

    async def _wait(self, seconds: float) -> bool:
        """Sleep before a retry; False when the wall clock would run out first."""
        remaining = self._budget.wall_remaining()
        if remaining is not None and seconds >= remaining:
            await asyncio.sleep(max(0.0, remaining))
            return False
        await asyncio.sleep(seconds)
        return True

    def _wall_outcome(self) -> Outcome:
        return Outcome(OutcomeKind.BUDGET_EXHAUSTED, "wall",
                       f"budget exhausted: wall clock ({self.config.budgets.wall_seconds:g}s) ran out",
                       self._evidence())

    def _account(self, start: int, request: ModelRequest, response: ModelResponse) -> None:
        self.turns += 1
        self.usage = self.usage + response.usage
        usd, estimated = cost_usd(response.model or self._model.name, response.usage)
        self.cost_usd += usd
        self.cost_estimated = self.cost_estimated or estimated
        self._trace_chat(start, request, response, None, usd)
        self.transcript.event("assistant", turn=self.turns, content=response.content,
                              stop_reason=response.stop_reason, usage=response.usage.to_json(),
                              cost_usd=round(usd, 6), request_id=response.request_id)

    # -- tools -----------------------------------------------------------------------------------

    async def _run_tools(self, tool_uses: list[dict[str, Any]], truncated: bool) -> dict[str, Any] | None:
        """Run each call in order and answer all of them; the evidence of a refused call, if one was."""
        results: list[dict[str, Any]] = []
        denied: dict[str, Any] | None = None
        for call in tool_uses:
            start = time.time_ns()
            if denied is not None:
                result = ToolResult(NOT_RUN, is_error=True)
            elif truncated:
                result = ToolResult("error: your reply was cut off at the output limit, so this call was not "
                                    "run; make smaller steps", is_error=True)
            else:
                result = await self._run_tool(call)
                denied = result.denied
            self._note_tool(call, result, start)
            block: dict[str, Any] = {"type": "tool_result", "tool_use_id": call.get("id", ""),
                                     "content": _bounded(result.content)}
            if result.is_error:
                block["is_error"] = True
            results.append(block)
        self.messages.append({"role": "user", "content": results})
        return denied

    async def _run_tool(self, call: dict[str, Any]) -> ToolResult:
        tool = self._by_name.get(str(call.get("name")))
        if tool is None:
            return ToolResult(f"error: no tool named {call.get('name')!r}; tools: {', '.join(self._by_name)}",
                              is_error=True)
        args = call.get("input")
        if not isinstance(args, dict):
            return ToolResult("error: tool input must be a JSON object", is_error=True)
        remaining = self._budget.wall_remaining()
        self._ctx.bash_timeout = self.config.bash_timeout if remaining is None \
            else max(1.0, min(self.config.bash_timeout, remaining))
        # Every call has a wall clock, whatever the tool does: the per-call limit, or what is left of the
        # session's (then the next turn ends the session). A tool that stops itself (bash) gets a grace.
        seconds = self.config.limits.tool_seconds + TOOL_GRACE_SECONDS
        session_ends = remaining is not None and remaining < seconds
        max_usd = self.config.budgets.max_usd
        self._ctx.usd_left = None if max_usd is None else max(0.0, max_usd - self.cost_usd)
        try:
            async with asyncio.timeout(max(0.0, remaining) if session_ends and remaining is not None else seconds):
                return await call_tool(tool, args, self._ctx)
        except TimeoutError:
            if session_ends:
                return ToolResult(f"error: the session's wall clock ran out during this {tool.name} call; it was "
                                  "abandoned", is_error=True)
            return ToolResult(f"error: {tool.name} did not finish within {self.config.limits.tool_seconds:g}s "
                              "(limit 'tool_seconds') and was abandoned", is_error=True)
        except Exception as err:  # noqa: BLE001 - a tool's bug is the agent's error message, not the session's end
            return ToolResult(f"error: tool {tool.name} failed: {type(err).__name__}: {err}", is_error=True)
        finally:  # the model calls a tool made (the eval tool's runs) are the session's spend
            self.cost_usd += float(self._ctx.state.pop("spent_usd", 0.0))

    def _note_tool(self, call: dict[str, Any], result: ToolResult, start: int) -> None:
        self.tool_calls += 1
        self._tool_errors = self._tool_errors + 1 if result.is_error else 0
        for rel in result.changed:
            if rel not in self.files_changed:
                self.files_changed.append(rel)
        name, call_id = str(call.get("name")), str(call.get("id", ""))
        self.trace.tool(start_ns=start, call_id=call_id, name=name, args=call.get("input"),
                        result=result.content, is_error=result.is_error)
        self.transcript.event("tool", id=call_id, name=name, input=call.get("input"), content=result.content,
                              is_error=result.is_error, denied=result.denied, changed=result.changed,
                              ms=round((time.time_ns() - start) / 1e6, 1))

    # -- messages and the request ------------------------------------------------------------------

    def _add_user_text(self, text: str) -> None:
        # A user turn after tool results joins that message: the API wants roles to alternate.
        block = {"type": "text", "text": text}
        if self.messages and self.messages[-1].get("role") == "user":
            last = self.messages[-1]
            content = last["content"]
            blocks = [{"type": "text", "text": content}] if isinstance(content, str) else list(content)
            self.messages[-1] = {**last, "content": [*blocks, block]}
        else:
            self.messages.append({"role": "user", "content": [block]})

    def _build_request(self) -> ModelRequest:
        """Tools and system are cached by their own breakpoints; two moving ones cover the conversation:
        the newest message, and the one that was newest on the previous turn (a cache hit now)."""
        messages = list(self.messages)
        for index in {len(messages) - 1, len(messages) - 3}:
            if index >= 0 and messages[index].get("role") == "user":
                messages[index] = _with_breakpoint(messages[index])
        return ModelRequest(messages=messages, system=self._system, tools=self._tool_specs,
                            max_tokens=self.config.max_output_tokens, thinking=self.config.thinking,
                            metadata={"session": self.config.session_id, **self.config.metadata})

    # -- records ---------------------------------------------------------------------------------

    def _trace_chat(self, start: int, request: ModelRequest, response: ModelResponse | None,
                    error: str | None, usd: float | None = None) -> None:
        if self.trace.path is None:
            return
        self.trace.chat(start_ns=start, model=self._model.name,
                        request={"messages": request.messages, "system": self.config.system,
                                 "max_tokens": request.max_tokens},
                        response=None if response is None else {
                            "id": response.id, "model": response.model, "content": response.content,
                            "stop_reason": response.stop_reason},
                        usage=None if response is None else response.usage.to_json(), cost_usd=usd, error=error)

    def _finish(self, outcome: Outcome) -> None:
        self._outcome = outcome
        self.transcript.event("outcome", outcome=outcome.to_json(), turns=self.turns, usage=self.usage.to_json(),
                              cost_usd=round(self.cost_usd, 6), files_changed=self.files_changed)
        error = None if outcome.kind in (OutcomeKind.COMPLETED, OutcomeKind.NO_CHANGES) else \
            f"{outcome.kind.value}: {outcome.message}"
        self.trace.finish({"agentbook.outcome": outcome.kind.value, "agentbook.outcome.reason": outcome.reason,
                           "gen_ai.request.model": self._model.name, "agentbook.turns": self.turns,
                           "gen_ai.usage.input_tokens": self.usage.total_input,
                           "gen_ai.usage.output_tokens": self.usage.output_tokens,
                           "agentbook.cost_usd": self.cost_usd, "agentbook.sandbox": self.sandbox}, error)

    def _spend(self) -> Spend:
        return Spend(turns=self.turns, tokens=self.usage.total_input + self.usage.output_tokens,
                     usd=self.cost_usd, tool_errors=self._tool_errors)

    def _evidence(self) -> dict[str, Any]:
        return {"turns": self.turns, "tokens": self.usage.total_input + self.usage.output_tokens,
                "cost_usd": round(self.cost_usd, 6), "wall_seconds": round(self._budget.elapsed(), 3),
                "files_changed": list(self.files_changed)}

    def _final_text(self) -> str:
        for msg in reversed(self.messages):
            if msg.get("role") == "assistant":
                content = msg.get("content")
                if isinstance(content, str):
                    return content
                return "".join(b.get("text", "") for b in content or [] if b.get("type") == "text")
        return ""


async def run_session(config: SessionConfig, task: str) -> SessionResult:
    """Run one task in a fresh session and close it: the whole library in one call."""
    async with Session(config) as session:
        await session.send(task)
        return session.result()


def _build_tools(specs: list[Any]) -> list[Tool]:
    names = [s for s in specs if isinstance(s, str)]
    built = iter(get_tools(names))
    tools = [next(built) if isinstance(s, str) else s for s in specs]
    seen: set[str] = set()
    for tool in tools:
        if tool.name in seen:
            raise FatalError(f"tool {tool.name!r} is listed twice")
        seen.add(tool.name)
    return tools


def _model(spec: str | Model) -> tuple[Model, bool]:
    if isinstance(spec, str):
        from agentbook.models import load_model

        return load_model(spec), True
    return spec, False


def _with_breakpoint(message: dict[str, Any]) -> dict[str, Any]:
    content = message["content"]
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else list(content)
    if not blocks:
        return message
    blocks[-1] = {**blocks[-1], "cache_control": EPHEMERAL}
    return {**message, "content": blocks}


def _bounded(text: str) -> str:
    if len(text) <= TOOL_RESULT_MAX_CHARS:
        return text
    return text[:TOOL_RESULT_MAX_CHARS] + f"\n[... {len(text) - TOOL_RESULT_MAX_CHARS} chars cut]"


def _api_error(failure: retry.Failure, attempts: int) -> Outcome:
    plural = "s" if attempts > 1 else ""
    return Outcome(OutcomeKind.API_ERROR, str(failure.status or failure.evidence.get("error", "")),
                   f"model API error after {attempts} attempt{plural}: {failure.message}",
                   {**failure.evidence, "attempts": attempts})
