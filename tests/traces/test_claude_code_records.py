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
