"""Codex child threads: a `spawn_agent` call starts a thread with a rollout of its own, whose
`session_meta.source.subagent.thread_spawn` names its parent. Exported from the parent's file, the child
(and its own children) hang under the spawning call, as Claude Code's subagents hang under their Task
call; a child exported alone is its own trace, pointing to its parent. Checked on the real pair of the
interop samples (skipped when absent) and on generated rollouts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import INTEROP

from agentbook.traces.conservation import measure
from agentbook.traces.export import export_many
from agentbook.traces.model import Span, Trace
from agentbook.traces.read import read_trace

PARENT, CHILD, GRANDCHILD = ("aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002",
                             "cccccccc-0000-4000-8000-000000000003")
REAL = INTEROP / "codex"
REAL_PARENT = REAL / "rollout-2026-01-03T04-05-06-22222222-2222-4222-8222-222222222222.jsonl"
REAL_CHILD = REAL / "rollout-2026-01-03T04-05-10-33333333-3333-4333-8333-333333333333.jsonl"


def _rec(second: int, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"timestamp": f"2026-03-01T10:00:{second:02d}.000Z", "type": kind, "payload": payload}


def _meta(second: int, thread: str, parent: str = "", call: str = "") -> dict[str, Any]:
    spawn = {"parent_thread_id": parent, "depth": 1} | ({"spawn_call_id": call} if call else {})
    return _rec(second, "session_meta", {"id": thread, "cwd": "/w", "source": {"subagent": {"thread_spawn": spawn}}
                                         if parent else "cli"})


def _say(second: int, role: str, text: str) -> dict[str, Any]:
    part = "input_text" if role == "user" else "output_text"
    return _rec(second, "response_item", {"type": "message", "role": role, "content": [{"type": part, "text": text}]})


def _call(second: int, name: str, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    return _rec(second, "response_item", {"type": "function_call", "name": name, "arguments": json.dumps(args),
                                          "call_id": call_id})


def _output(second: int, call_id: str, output: str) -> dict[str, Any]:
    return _rec(second, "response_item", {"type": "function_call_output", "call_id": call_id, "output": output})


def _write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _family(folder: Path) -> tuple[Path, Path, Path]:
    """A parent that spawns a child (its result `{"agent_id": ...}`, as Codex returns it, the only link
    besides the child's own meta), a child that runs a command and spawns a grandchild."""
    parent = _write(folder / f"rollout-2026-03-01T10-00-00-{PARENT}.jsonl", [
        _meta(0, PARENT), _rec(1, "turn_context", {"model": "gpt-5-codex"}),
        _say(2, "user", "Find why the deploy failed."),
        _call(3, "spawn_agent", {"message": "Read the deploy log.", "agent_type": "explorer"}, "call-spawn-1"),
        _output(4, "call-spawn-1", json.dumps({"agent_id": CHILD})),
        _say(30, "assistant", "The deploy failed on a missing secret."),
        _rec(31, "event_msg", {"type": "token_count", "info": {"last_token_usage": {"input_tokens": 1200,
                                                                                    "output_tokens": 45}}})])
    child = _write(folder / f"rollout-2026-03-01T10-00-05-{CHILD}.jsonl", [
        _meta(5, CHILD, PARENT), _rec(5, "turn_context", {"model": "gpt-5-codex-mini"}),
        _say(6, "user", "Read the deploy log."),
        _call(7, "exec_command", {"cmd": "tail deploy.log"}, "call-exec-1"),
        _output(8, "call-exec-1", json.dumps({"output": "error: secret DB_URL not found\n",
                                              "metadata": {"exit_code": 1}})),
        _call(9, "spawn_agent", {"message": "Check the secret store."}, "call-spawn-2"),
        _output(10, "call-spawn-2", "agent " + GRANDCHILD + " spawned"),
        _say(20, "assistant", "The log says secret DB_URL is missing."),
        _rec(21, "event_msg", {"type": "token_count", "info": {"last_token_usage": {"input_tokens": 800,
                                                                                    "output_tokens": 30}}})])
    grandchild = _write(folder / f"rollout-2026-03-01T10-00-11-{GRANDCHILD}.jsonl", [
        _meta(11, GRANDCHILD, CHILD, "call-spawn-2"), _say(12, "user", "Check the secret store."),
        _say(13, "assistant", "DB_URL was deleted from the store yesterday.")])
    return parent, child, grandchild


def _by_id(trace: Trace) -> dict[str, Span]:
    return {s.span_id: s for s in trace.spans}


def _under(trace: Trace, span: Span) -> Span:
    """The span `span` hangs under."""
    assert span.parent_id is not None
    return _by_id(trace)[span.parent_id]


def _agent(trace: Trace, thread: str) -> Span:
    return next(s for s in trace.spans if s.kind == "agent" and s.name == f"codex subagent {thread}")


def test_children_hang_under_the_calls_that_spawned_them(tmp_path: Path) -> None:
    parent, _, _ = _family(tmp_path)
    (trace,) = read_trace(parent)
    assert trace.trace_id == PARENT and not trace.problems
    child, grandchild = _agent(trace, CHILD), _agent(trace, GRANDCHILD)
    assert (_under(trace, child).tool_call_id, _under(trace, grandchild).tool_call_id) == ("call-spawn-1",
                                                                                          "call-spawn-2")
    assert {s.trace_id for s in trace.spans} == {PARENT}
    assert len({s.span_id for s in trace.spans}) == len(trace.spans)
    failed = next(s for s in trace.spans if s.tool_call_id == "call-exec-1")
    assert failed.status == "error" and "DB_URL" in failed.status_message
    turns = {s.model: s for s in trace.spans if s.kind == "llm" and s.output_tokens}
    assert (turns["gpt-5-codex-mini"].input_tokens, turns["gpt-5-codex"].input_tokens) == (800, 1200)
    assert trace.roots[0].end_ns is not None and trace.roots[0].end_ns >= (child.end_ns or 0)


def test_the_parents_export_holds_every_thread(tmp_path: Path) -> None:
    (tmp_path / "sessions").mkdir()
    parent, _, _ = _family(tmp_path / "sessions")
    summary, = export_many(read_trace(parent), tmp_path / "out")
    text = "\n".join(p.read_text(encoding="utf-8") for p in (tmp_path / "out").rglob("*") if p.is_file())
    for words in ("secret DB_URL not found", "The log says secret DB_URL is missing.", "deleted from the store"):
        assert words in text
    assert measure(parent, tmp_path / "out").lost == []  # the children's files count as the parent's input
    assert summary.tool_calls == 3


def test_a_child_alone_points_to_its_parent(tmp_path: Path) -> None:
    _, child, _ = _family(tmp_path)
    child.parent.joinpath(f"rollout-2026-03-01T10-00-11-{GRANDCHILD}.jsonl").unlink()
    (trace,) = read_trace(child)
    assert trace.trace_id == CHILD and trace.metadata["parent_thread_id"] == PARENT
    assert PARENT in trace.name and trace.roots[0].attributes["parent_thread_id"] == PARENT
    assert not any(s.name.startswith("codex subagent c") for s in trace.spans)


def test_a_rollout_naming_itself_as_parent_is_read_once(tmp_path: Path) -> None:
    """Rollouts are anyone's to write: one that is its own parent, or a child that later calls itself its
    parent's thread, must not be read twice (or forever)."""
    loop = _write(tmp_path / f"rollout-x-{PARENT}.jsonl", [_meta(0, PARENT, PARENT), _say(1, "user", "hello there")])
    _write(tmp_path / f"rollout-y-{CHILD}.jsonl", [_meta(2, CHILD, PARENT), _meta(3, PARENT),
                                                   _say(4, "user", "a second thread")])
    (trace,) = read_trace(loop)
    assert [s.name for s in trace.spans if s.kind == "agent"] == [f"codex subagent {PARENT}"]
    assert any(f"thread {PARENT} is read already" in p for p in trace.problems)


@pytest.mark.skipif(not REAL_PARENT.is_file() or not REAL_CHILD.is_file(), reason="interop codex samples absent")
def test_real_spawned_thread_is_part_of_its_parent(tmp_path: Path) -> None:
    for sample in (REAL_PARENT, REAL_CHILD):
        shutil.copy(sample, tmp_path / sample.name)
    (trace,) = read_trace(tmp_path / REAL_PARENT.name)
    child = _agent(trace, "33333333-3333-4333-8333-333333333333")
    spawn = _under(trace, child)
    assert (spawn.tool_name, spawn.tool_call_id) == ("spawn_agent", "call-spawn-001")
    inherited = [s for s in trace.spans if s.parent_id == child.span_id and s.kind == "chain"]
    assert [s.name for s in inherited] == ["history inherited from thread 22222222-2222-4222-8222-222222222222"]
    own = [s for s in trace.spans if s.parent_id == child.span_id and s.kind == "llm"]
    assert [s.output_messages[0].content for s in own] == ["The fixtures are fully synthetic."]
    assert [m.content for m in own[0].input_messages] == ["Inspect fixtures."]
    export_many([trace], tmp_path / "out")
    assert measure(tmp_path / REAL_PARENT.name, tmp_path / "out").lost == []
    (alone,) = read_trace(tmp_path / REAL_CHILD.name)
    assert alone.metadata["parent_thread_id"] == "22222222-2222-4222-8222-222222222222"
