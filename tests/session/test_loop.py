"""The session loop against the real SDK and the stand-in on loopback (`scripted:` models)."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from agentbook.fsutil import read_jsonl
from agentbook.models import Usage
from agentbook.models.pricing import cost_usd
from agentbook.outcome import OutcomeKind
from agentbook.session import Budgets, Session, SessionConfig, history_from_transcript, run_session
from agentbook.session.tools import ToolResult
from agentbook.standin import ensure_server

HERE = Path(__file__).parent
LOOP = HERE / "scripts" / "loop.script.yaml"
EXPLORE = HERE.parent.parent / "examples" / "sessions" / "explore.script.yaml"


def config(root: Path, script: Path = LOOP, **kw: Any) -> SessionConfig:
    kw.setdefault("transcript_path", root.parent / "records" / "transcript.jsonl")
    kw.setdefault("trace_path", root.parent / "records" / "trace.json")
    kw.setdefault("protected", ["evals/**/cases/*.yaml"])
    return SessionConfig(model=f"scripted:{script}", root=root, system="You maintain this repo.", **kw)


def requests_for(script: Path, session_name: str) -> list[dict[str, Any]]:
    return [r for r in ensure_server(script).requests() if r.get("session") == session_name]


def spans(trace_path: Path) -> list[dict[str, Any]]:
    data = json.loads(trace_path.read_text())
    return data["resourceSpans"][0]["scopeSpans"][0]["spans"]


def attrs(span: dict[str, Any]) -> dict[str, Any]:
    return {a["key"]: next(iter(a["value"].values())) for a in span["attributes"]}


def test_explore_runs_every_tool_to_completion(work: Path) -> None:
    (work / "README.md").write_text("# demo\nTODO: write docs\n")
    result = asyncio.run(run_session(config(work, EXPLORE), "Please explore and note NOTES.md"))
    assert result.outcome.kind is OutcomeKind.COMPLETED, result.outcome
    assert result.turns == 7 and result.tool_calls == 6
    assert (work / "NOTES.md").read_text() == "# Notes\n\nExplored the repository (turn 4).\nStatus: reviewed\n"
    assert result.files_changed == ["NOTES.md"]
    assert result.final_text.startswith("Done: I read README.md")
    events = read_jsonl(result.transcript_path)
    assert [e["event"] for e in events][:3] == ["session_start", "user", "assistant"]
    assert events[-1]["event"] == "outcome" and events[-1]["outcome"]["kind"] == "completed"
    tools = [e for e in events if e["event"] == "tool"]
    assert [t["name"] for t in tools] == ["glob", "read", "grep", "write", "edit", "bash"]
    assert "README.md:2:TODO: write docs" in tools[2]["content"]
    assert tools[5]["content"].endswith("[exit code 0]") and "NOTES.md" in tools[5]["content"]


def test_trace_is_otlp_with_genai_spans(work: Path) -> None:
    result = asyncio.run(run_session(config(work, EXPLORE), "explore"))
    assert result.trace_path is not None
    all_spans = spans(result.trace_path)
    root = all_spans[0]
    assert root["name"] == "invoke_agent agentbook" and "parentSpanId" not in root
    assert attrs(root)["agentbook.outcome"] == "completed"
    chats = [s for s in all_spans if s["name"] == "chat scripted"]
    tools = [s for s in all_spans if s["name"].startswith("execute_tool ")]
    assert len(chats) == 7 and len(tools) == 6
    assert all(s["parentSpanId"] == root["spanId"] and s["traceId"] == root["traceId"] for s in all_spans[1:])
    first = attrs(chats[0])
    assert first["gen_ai.operation.name"] == "chat" and first["gen_ai.request.model"] == "scripted"
    assert json.loads(first["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "explore"}]}]
    output = json.loads(first["gen_ai.output.messages"])[0]
    assert [p["type"] for p in output["parts"]] == ["reasoning", "text", "tool_call"]
    assert int(first["gen_ai.usage.output_tokens"]) > 0
    second_input = json.loads(attrs(chats[1])["gen_ai.input.messages"])
    assert [m["role"] for m in second_input] == ["user", "assistant", "tool"]
    assert attrs(tools[0])["gen_ai.tool.name"] == "glob"


def test_requests_cache_the_prefix_and_return_thinking_unchanged(work: Path) -> None:
    task = "explore (cache check)"
    result = asyncio.run(run_session(config(work, EXPLORE), task))
    assert result.outcome.ok
    sent = [r["body"] for r in ensure_server(EXPLORE).requests()
            if r["body"]["messages"][0]["content"][0]["text"].startswith(task)]
    assert len(sent) == 7
    assert sent[0]["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert sent[0]["system"][0]["cache_control"] == {"type": "ephemeral"}
    marked = [i for i, m in enumerate(sent[3]["messages"]) if "cache_control" in m["content"][-1]]
    assert marked == [4, 6]  # the newest user message and the one newest a turn ago
    thinking = sent[1]["messages"][1]["content"][0]
    assert thinking["type"] == "thinking" and thinking["signature"]
    assert result.usage.cache_read_input_tokens > result.usage.cache_creation_input_tokens


def test_protected_write_is_blocked_with_evidence(work: Path) -> None:
    before = (work / "evals" / "cases" / "c1.yaml").read_text()
    result = asyncio.run(run_session(config(work), "protected-write please"))
    outcome = result.outcome
    assert outcome.kind is OutcomeKind.BLOCKED and outcome.reason == "permission"
    assert outcome.evidence["denied"] == {"tool": "write", "path": "evals/cases/c1.yaml",
                                          "rule": "evals/**/cases/*.yaml"}
    assert outcome.message == "write refused: evals/cases/c1.yaml"
    assert (work / "evals" / "cases" / "c1.yaml").read_text() == before
    assert result.exit_code == 11 and result.turns == 1


def test_a_command_outside_the_allow_list_is_a_tool_error_the_agent_reads(work: Path) -> None:
    cfg = config(work, bash_allow=["git diff*", "agentbook eval *"], sandbox="allowlist")
    result = asyncio.run(run_session(cfg, "bash-denied"))
    assert result.outcome.kind is OutcomeKind.COMPLETED and result.final_text == "done"
    (tool,) = [e for e in read_jsonl(result.transcript_path) if e["event"] == "tool"]
    assert tool["is_error"] and tool["denied"] is None
    assert tool["content"].startswith("error: command uses shell syntax '|'")
    assert tool["content"].endswith("(allowed: git diff*, agentbook eval *)")
    assert result.sandbox == "allowlist"


def test_refused_commands_count_against_max_tool_errors(work: Path) -> None:
    cfg = config(work, bash_allow=["agentbook eval *"], sandbox="allowlist",
                 budgets=Budgets(max_tool_errors=3))
    result = asyncio.run(run_session(cfg, "bash-refused-repeatedly"))
    assert result.outcome.kind is OutcomeKind.BUDGET_EXHAUSTED and result.outcome.reason == "tool_errors"
    assert result.tool_calls == 3 and result.exit_code == 12


def test_midstream_overloaded_error_retries_the_turn(work: Path) -> None:
    result = asyncio.run(run_session(config(work), "midstream"))
    assert result.outcome.kind is OutcomeKind.COMPLETED, result.outcome
    assert result.retries == 1 and result.final_text == "The README says hello."
    errors = [e for e in read_jsonl(result.transcript_path) if e["event"] == "model_error"]
    assert [(e["error"], e["error_type"], e["status"]) for e in errors] == [
        ("MidStreamError", "overloaded_error", 200)]
    failed = [s for s in spans(result.trace_path) if s["status"].get("code") == 2 and s["name"].startswith("chat")]
    assert len(failed) == 1 and "overloaded_error" in failed[0]["status"]["message"]


@pytest.mark.timeout(60)
def test_stalled_stream_ends_budget_exhausted_wall(work: Path) -> None:
    cfg = config(work, budgets=Budgets(wall_seconds=2.0))
    result = asyncio.run(run_session(cfg, "stall"))
    assert result.outcome.kind is OutcomeKind.BUDGET_EXHAUSTED and result.outcome.reason == "wall"
    assert result.outcome.message == "budget exhausted: wall clock (2s) ran out"
    assert result.turns == 1 and result.exit_code == 12


def test_auth_error_stops_at_once(work: Path) -> None:
    result = asyncio.run(run_session(config(work), "auth-fail"))
    outcome = result.outcome
    assert outcome.kind is OutcomeKind.API_ERROR and outcome.reason == "401"
    assert outcome.evidence["status"] == 401 and outcome.evidence["error"] == "AuthError"
    assert outcome.evidence["attempts"] == 1 and result.retries == 0
    assert len(requests_for(LOOP, "auth")) == 1  # the SDK does not retry a 401 either


def test_spend_limit_stops_at_once(work: Path) -> None:
    outcome = asyncio.run(run_session(config(work), "spend-limit")).outcome
    assert outcome.kind is OutcomeKind.API_ERROR and outcome.evidence["error"] == "SpendLimit"
    assert "Your credit balance is too low" in outcome.message


def test_sessions_complete_when_30_percent_of_turns_are_rate_limited(tmp_path: Path) -> None:
    async def one(i: int) -> Any:
        root = tmp_path / f"w{i}"
        (root / "src").mkdir(parents=True)
        (root / "src" / "app.py").write_text("def greet():\n    return 'hello'\n")
        kind = "429" if i % 2 else "529"
        return await run_session(config(root, transcript_path=None, trace_path=None), f"flaky-{kind} run {i}")

    async def all_of_them() -> list[Any]:
        return await asyncio.gather(*(one(i) for i in range(10)))

    results = asyncio.run(all_of_them())
    assert [r.outcome.kind for r in results] == [OutcomeKind.COMPLETED] * 10
    assert all((tmp_path / f"w{i}" / "src" / "app.py").read_text() == "def greet():\n    return 'hi'\n"
               for i in range(10))
    recorded = requests_for(LOOP, "flaky-429") + requests_for(LOOP, "flaky-529")
    faulted = [r for r in recorded if r.get("fault") == "status"]
    assert {r["status"] for r in faulted} == {429, 529}
    assert 0.15 < len(faulted) / len(recorded) < 0.45  # about 30% of attempts got a 429/529


def test_consecutive_tool_errors_end_the_session(work: Path) -> None:
    cfg = config(work, budgets=Budgets(max_tool_errors=3))
    result = asyncio.run(run_session(cfg, "tool-errors"))
    assert result.outcome.kind is OutcomeKind.BUDGET_EXHAUSTED and result.outcome.reason == "tool_errors"
    assert result.outcome.message == "budget exhausted: 3 tool calls failed in a row"


def test_turn_budget_and_wrap_up_note(work: Path) -> None:
    result = asyncio.run(run_session(config(work, EXPLORE, budgets=Budgets(max_turns=3)), "explore turns"))
    assert result.outcome.kind is OutcomeKind.BUDGET_EXHAUSTED and result.outcome.reason == "turns"
    assert result.turns == 3
    result = asyncio.run(run_session(config(work, EXPLORE, budgets=Budgets(max_turns=7)), "explore reserve"))
    assert result.outcome.ok
    notes = [e for e in read_jsonl(result.transcript_path) if e["event"] == "budget_warning"]
    assert len(notes) == 1 and notes[0]["text"].startswith("[agentbook] Budget nearly spent (6 of 7 turns)")
    last = [r["body"] for r in requests_for(EXPLORE, "explore")
            if r["body"]["messages"][0]["content"][0]["text"] == "explore reserve"][-1]
    assert last["messages"][-1]["content"][-1]["text"] == notes[0]["text"]


def test_send_twice_continues_the_conversation(work: Path) -> None:
    async def steps() -> tuple[Any, Any, Session]:
        async with Session(config(work)) as session:
            first = await session.send("two-steps: do step one")
            second = await session.send("now step two")
            return first, second, session

    first, second, session = asyncio.run(steps())
    assert first.ok and second.ok
    assert session.turns == 3
    assert [m["role"] for m in session.messages] == ["user", "assistant", "user", "assistant", "user", "assistant"]
    assert session.result().final_text == "Step two done."
    assert (work / "step2.txt").read_text() == "two\n"


def test_secrets_never_reach_transcript_or_trace(work: Path) -> None:
    token = "sk-ant-api03-" + "Z" * 40
    cfg = config(work, secrets=["hunter2-password"])
    result = asyncio.run(run_session(cfg, f"leak {token} and hunter2-password"))
    assert result.outcome.ok
    assert (work / "token.txt").read_text() == token + "\n"  # the work itself is untouched
    for path in (result.transcript_path, result.trace_path):
        text = Path(str(path)).read_text()
        assert token not in text and "hunter2-password" not in text and "sk-ant-api03" not in text
        assert "[REDACTED]" in text


def test_resume_from_transcript_after_a_stop(work: Path) -> None:
    cfg = config(work, EXPLORE, budgets=Budgets(max_turns=3))
    first = asyncio.run(run_session(cfg, "explore, then resume"))
    assert first.outcome.reason == "turns"
    history = history_from_transcript(first.transcript_path)
    assert [m["role"] for m in history] == ["user", "assistant", "user", "assistant", "user", "assistant", "user"]
    assert history[1]["content"][0]["type"] == "thinking"  # comes back signed, as the stand-in checks

    async def resume() -> Any:
        async with Session(config(work, EXPLORE, session_id=cfg.session_id), history=history) as session:
            outcome = await session.send("Continue where you stopped.")
            return outcome, session

    outcome, session = asyncio.run(resume())
    assert outcome.ok, outcome
    assert session.turns == 4 and (work / "NOTES.md").read_text().endswith("Status: reviewed\n")


def test_history_cut_after_a_tool_request_is_repaired(work: Path) -> None:
    history = [{"role": "user", "content": [{"type": "text", "text": "two-steps: do step one",
                                             "cache_control": {"type": "ephemeral"}},
                                            {"type": "text", "text": "(resumed)"}]},
               {"role": "assistant", "content": [{"type": "text", "text": "Step one done."},
                                                 {"type": "tool_use", "id": "toolu_x", "name": "read",
                                                  "input": {"path": "README.md"}}]}]
    async def resume() -> Any:
        async with Session(config(work), history=history) as session:
            repaired = session.messages[-1]
            return repaired, await session.send("now step two")

    repaired, outcome = asyncio.run(resume())
    assert repaired == {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_x", "is_error": True,
         "content": "not run: the session was interrupted before this call ran; check the state and retry"}]}
    assert outcome.ok and (work / "step2.txt").read_text() == "two\n"
    assert history[0]["content"][0]["cache_control"]  # the caller's list is left as it was
    sent = [r["body"] for r in requests_for(LOOP, "two-steps") if r["body"]["messages"][0]["content"][-1:]
            == [{"type": "text", "text": "(resumed)", "cache_control": {"type": "ephemeral"}}]]
    assert sent and all(json.dumps(b).count('"cache_control"') == 4 for b in sent)  # the API allows four


def test_bash_is_not_offered_without_sandbox_or_allow_list(work: Path) -> None:
    async def offered(bash_allow: list[str] | None) -> tuple[list[str], str]:
        async with Session(config(work, sandbox="allowlist", bash_allow=bash_allow)) as session:
            return [t.name for t in session.tools], session.sandbox

    assert asyncio.run(offered(None)) == (["read", "write", "edit", "glob", "grep"], "none")
    assert asyncio.run(offered(["make test"])) == (["read", "write", "edit", "glob", "grep", "bash"], "allowlist")


def test_trace_exporter_reads_the_session_trace(work: Path, tmp_path: Path) -> None:
    from agentbook.traces import export_trace, read_trace

    result = asyncio.run(run_session(config(work, EXPLORE), "explore for the exporter"))
    (trace,) = read_trace(result.trace_path)
    assert trace.format == "otlp"
    kinds = [s.kind for s in trace.spans]
    assert kinds.count("agent") == 1 and kinds.count("llm") == 7 and kinds.count("tool") == 6
    llm = [s for s in trace.spans if s.kind == "llm"]
    assert llm[0].output_messages[0].tool_calls[0].name == "glob"
    assert [m.role for m in llm[1].input_messages] == ["system", "user", "assistant", "tool"]
    export_trace(trace, tmp_path / "export")
    assert "execute_tool" in (tmp_path / "export" / "tree.txt").read_text()


def test_connection_dropped_mid_stream_retries_the_turn(work: Path) -> None:
    result = asyncio.run(run_session(config(work), "dropped-connection"))
    assert result.outcome.ok, result.outcome
    # a drop after HTTP 200 is past the SDK's retries: each one is a whole-turn retry of the session
    assert result.retries == 3 and result.final_text == "Read it after the connection came back."
    assert [r["attempt"] for r in requests_for(LOOP, "dropped") if r["turn"] == 1] == [1, 2, 3, 4]
    errors = [e for e in read_jsonl(result.transcript_path) if e["event"] == "model_error"]
    assert [e["error"] for e in errors] == ["ConnectionFailed"] * 3


def test_cut_off_tool_call_is_not_run(work: Path) -> None:
    result = asyncio.run(run_session(config(work), "cut-off"))
    assert result.outcome.ok and not (work / "half.txt").exists()
    tool = next(e for e in read_jsonl(result.transcript_path) if e["event"] == "tool")
    assert tool["is_error"] and tool["content"].startswith("error: your reply was cut off at the output limit")


def test_refusal_is_blocked_not_completed(work: Path) -> None:
    outcome = asyncio.run(run_session(config(work), "refuse-me")).outcome
    assert outcome.kind is OutcomeKind.BLOCKED and outcome.reason == "refusal"


def test_tool_failures_are_answers_not_crashes(work: Path) -> None:
    threads: list[threading.Thread] = []

    class Explode:
        def __init__(self) -> None:
            self.name, self.description, self.read_only = "explode", "Always fails", True
            self.input_schema: dict[str, Any] = {"type": "object"}

        def run(self, args: dict[str, Any], ctx: Any) -> ToolResult:
            threads.append(threading.current_thread())
            raise RuntimeError("kaboom")

    class SlowEcho:
        def __init__(self) -> None:
            self.name, self.description, self.read_only = "slow_echo", "Echo after a pause", True
            self.input_schema: dict[str, Any] = {"type": "object"}

        async def run(self, args: dict[str, Any], ctx: Any) -> ToolResult:
            await asyncio.sleep(0.01)
            return ToolResult(str(args["text"]))

    result = asyncio.run(run_session(config(work, tools=["read", Explode(), SlowEcho()]), "odd-tools"))
    assert result.outcome.ok and result.final_text == "Handled."
    tools = {e["name"]: e for e in read_jsonl(result.transcript_path) if e["event"] == "tool"}
    assert tools["explode"]["content"] == "error: tool explode failed: RuntimeError: kaboom"
    assert threads and threads[0] is not threading.main_thread()  # a plain run() goes to a worker thread
    assert tools["slow_echo"]["content"] == "async works" and not tools["slow_echo"]["is_error"]
    assert tools["teleport"]["content"] == "error: no tool named 'teleport'; tools: read, explode, slow_echo"


def test_usd_budget_uses_exact_prices(work: Path) -> None:
    priced = HERE / "scripts" / "priced.script.yaml"
    result = asyncio.run(run_session(config(work, priced, budgets=Budgets(max_usd=0.01)), "read forever"))
    assert result.outcome.kind is OutcomeKind.BUDGET_EXHAUSTED and result.outcome.reason == "usd"
    assert result.model == f"scripted:{priced}" and not result.cost_estimated
    turns = [e for e in read_jsonl(result.transcript_path) if e["event"] == "assistant"]
    expected = sum(cost_usd("claude-sonnet-5", Usage(**e["usage"]))[0] for e in turns)
    assert result.cost_usd == pytest.approx(expected) and result.cost_usd >= 0.01
    assert sum(e["cost_usd"] for e in turns[:-1]) < 0.01  # it stopped at the first turn over the limit
