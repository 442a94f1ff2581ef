"""Claude Code 2.1 writes one assistant message over several lines (one content block each, the same
`message.id`): each line's time reaches the export, not only the first and the tool calls'; a thinking
block's `signature` is kept beside the reasoning. Checked on generated lines and on real 2.1.38
transcripts of the interop samples (skipped when absent)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import INTEROP

from agentbook.traces.conservation import measure
from agentbook.traces.export import export_many
from agentbook.traces.read import read_trace

REAL = sorted((INTEROP / "claude-code").glob("spotter_*.jsonl")) if (INTEROP / "claude-code").is_dir() else []


def _line(n: int, second: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "assistant", "uuid": f"a{n}", "parentUuid": f"a{n - 1}" if n else "u0", "sessionId": "s1",
            "timestamp": f"2026-02-10T21:54:{second:02d}.068Z", "version": "2.1.38",
            "message": {"id": "msg_1", "role": "assistant", "model": "claude-opus-4-6", "content": [block],
                        "usage": {"input_tokens": 3, "output_tokens": 9}}}


def test_each_line_of_a_split_message_keeps_its_time_and_signature(tmp_path: Path) -> None:
    lines = [{"type": "user", "uuid": "u0", "parentUuid": None, "sessionId": "s1", "timestamp": "2026-02-10T21:54:50Z",
              "message": {"role": "user", "content": "Set up the linters."}},
             _line(0, 55, {"type": "text", "text": "Looking."}),
             _line(1, 56, {"type": "thinking", "thinking": "Credo first.", "signature": "EqQCCkYICxgCKkDsig"}),
             _line(2, 57, {"type": "text", "text": "I'll research the setup."})]
    source = tmp_path / "s1.jsonl"
    source.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    (trace,) = read_trace(source)
    (turn,) = [s for s in trace.spans if s.kind == "llm"]
    assert turn.attributes["continued_at"] == ["2026-02-10T21:54:56.068Z", "2026-02-10T21:54:57.068Z"]
    assert turn.attributes["thinking_signatures"] == ["EqQCCkYICxgCKkDsig"]
    assert turn.output_messages[0].reasoning == "Credo first."
    export_many([trace], tmp_path / "out")
    assert measure(source, tmp_path / "out").lost == []


@pytest.mark.skipif(not REAL, reason="interop claude-code samples of Claude Code 2.1 absent")
@pytest.mark.parametrize("source", REAL, ids=lambda p: p.name)
def test_real_2_1_transcripts_reach_the_export_whole(source: Path, tmp_path: Path) -> None:
    export_many(read_trace(source), tmp_path / "out")
    assert measure(source, tmp_path / "out").lost == []


def _progress(second: int, inner: dict[str, Any]) -> dict[str, Any]:
    """A 2.1 `agent_progress` record: one message of subagent `a1b2c3d` running under Task call toolu_T."""
    return {"type": "progress", "uuid": f"p{second}", "parentUuid": None, "sessionId": "s1", "version": "2.1.38",
            "timestamp": f"2026-02-10T21:58:{second:02d}.000Z", "parentToolUseID": "toolu_T", "toolUseID": "agent_msg_1",
            "data": {"type": "agent_progress", "agentId": "a1b2c3d", "prompt": "Find the config.",
                     "normalizedMessages": [], "message": inner}}


def _session_with_progress() -> list[dict[str, Any]]:
    task = {"type": "tool_use", "id": "toolu_T", "name": "Task", "input": {"prompt": "Find the config."}}
    sub_call = {"type": "tool_use", "id": "toolu_R", "name": "Read", "input": {"file_path": "/repo/config.exs"}}
    return [
        {"type": "file-history-snapshot", "messageId": "m0", "snapshot": {"trackedFileBackups": {}}},
        {"type": "user", "uuid": "u0", "parentUuid": None, "sessionId": "s1", "timestamp": "2026-02-10T21:57:00Z",
         "message": {"role": "user", "content": "Delegate the search."}},
        {"type": "assistant", "uuid": "a0", "parentUuid": "u0", "sessionId": "s1", "timestamp": "2026-02-10T21:57:01Z",
         "message": {"id": "msg_main", "role": "assistant", "model": "claude-opus-4-6", "content": [task]}},
        _progress(2, {"type": "user", "uuid": "su0", "timestamp": "2026-02-10T21:58:02Z",
                      "message": {"role": "user", "content": [{"type": "text", "text": "Find the config."}]}}),
        _progress(3, {"type": "assistant", "uuid": "sa0", "timestamp": "2026-02-10T21:58:03Z", "requestId": "req_s",
                      "message": {"id": "msg_sub", "role": "assistant", "model": "claude-haiku-4-5-20251001",
                                  "content": [sub_call], "usage": {"input_tokens": 700, "output_tokens": 20}}}),
        _progress(4, {"type": "user", "uuid": "su1", "timestamp": "2026-02-10T21:58:04Z",
                      "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_R",
                                                               "content": "EISDIR: illegal operation", "is_error": True}]}}),
        {"type": "user", "uuid": "u1", "parentUuid": "a0", "sessionId": "s1", "timestamp": "2026-02-10T21:59:00Z",
         "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_T",
                                                  "content": "The config is config/dev.exs."}]},
         "toolUseResult": {"status": "completed", "agentId": "a1b2c3d"}}]


def test_a_subagent_known_only_from_progress_records_is_read_under_its_task(tmp_path: Path) -> None:
    source = tmp_path / "s1.jsonl"
    source.write_text("".join(json.dumps(x) + "\n" for x in _session_with_progress()), encoding="utf-8")
    (trace,) = read_trace(source)
    assert not trace.orphans and not trace.problems
    by_id = {s.span_id: s for s in trace.spans}
    (agent,) = [s for s in trace.spans if s.kind == "agent" and s.parent_id]
    assert by_id[agent.parent_id or ""].tool_call_id == "toolu_T"
    (read,) = [s for s in trace.spans if s.tool_call_id == "toolu_R"]
    assert read.status == "error" and read.tool_result == "EISDIR: illegal operation"
    turn = by_id[read.parent_id or ""]
    assert (turn.model, turn.input_tokens, by_id[turn.parent_id or ""].span_id) == (
        "claude-haiku-4-5-20251001", 700, agent.span_id)
    assert [m.content for m in turn.input_messages] == ["Find the config."]
    assert trace.roots[0].end_ns == max(s.end_ns or 0 for s in trace.spans)  # the session ends at its last record
    export_many([trace], tmp_path / "out")
    assert measure(source, tmp_path / "out").lost == []


def test_progress_copies_of_a_subagent_read_from_its_own_file_are_kept_not_read_twice(tmp_path: Path) -> None:
    source = tmp_path / "s1.jsonl"
    source.write_text("".join(json.dumps(x) + "\n" for x in _session_with_progress()), encoding="utf-8")
    own = [{**p["data"]["message"], "sessionId": "s1", "isSidechain": True, "agentId": "a1b2c3d"}
           for p in _session_with_progress()[3:6]]
    (tmp_path / "s1" / "subagents").mkdir(parents=True)
    (tmp_path / "s1" / "subagents" / "agent-a1b2c3d.jsonl").write_text(
        "".join(json.dumps(x) + "\n" for x in own), encoding="utf-8")
    (trace,) = read_trace(source)
    assert len([s for s in trace.spans if s.tool_call_id == "toolu_R"]) == 1
    assert trace.unread["agent_progress message"] == 3


def test_a_session_that_opens_with_hooks_and_snapshots_is_recognised(tmp_path: Path) -> None:
    """2.1 writes file-history snapshots and a SessionStart hook's progress records before the first
    message: more lines than format detection looks at."""
    snapshot = {"type": "file-history-snapshot", "messageId": "m0", "isSnapshotUpdate": False,
                "snapshot": {"messageId": "m0", "trackedFileBackups": {}, "timestamp": "2026-02-12T14:11:57.624Z"}}
    hooks = [{"parentUuid": None if i == 0 else f"h{i - 1}", "isSidechain": False, "userType": "external",
              "sessionId": "s1", "version": "2.1.39", "type": "progress", "uuid": f"h{i}",
              "timestamp": f"2026-02-12T14:11:5{i}.000Z", "parentToolUseID": "hook-1", "toolUseID": "hook-1",
              "data": {"type": "hook_progress", "hookEvent": "SessionStart", "command": f"hook-{i}.sh"}}
             for i in range(5)]
    lines = [snapshot, snapshot, *hooks, *_session_with_progress()[1:3]]
    source = tmp_path / "s1.jsonl"
    source.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    (trace,) = read_trace(source)
    assert trace.format == "claude-code" and trace.unread["progress"] == 5
    export_many([trace], tmp_path / "out")
    assert measure(source, tmp_path / "out").lost == []


SESSION = INTEROP / "claude-code" / "ae4a77f8-aedd-4bc1-888f-c94edc91af04.jsonl"


@pytest.mark.skipif(not SESSION.is_file(), reason="interop Claude Code 2.1 session with subagents absent")
def test_real_2_1_session_with_its_subagents_folder(tmp_path: Path) -> None:
    (trace,) = read_trace(SESSION)
    by_id = {s.span_id: s for s in trace.spans}
    agents = {s.attributes.get("agent_id"): s for s in trace.spans if s.kind == "agent" and s.parent_id}
    assert set(agents) == {"aac57f5", "acompact-946d2b"}
    assert by_id[agents["aac57f5"].parent_id or ""].tool_name == "Task"
    assert trace.unread["agent_progress message"] == 25  # the copies of a subagent read from its own file
    export_many([trace], tmp_path / "out")
    assert measure(SESSION, tmp_path / "out").lost == []
