"""The session transcript is redacted a record at a time: a held secret split across two records (two tool
results, a tool result and the reply after it) was written in two halves no record held whole, and each
half survived. The transcript now holds back a record whose text ends where a form of a held secret could
begin until the next record (or the session's end) says whether it does. Records stay whole lines, and a
`kill -9` while one is held back leaves a transcript a resumed session reads as one cut a record earlier.
Real `Transcript`, real `Redactor` (held values from the environment), real files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from gitkit import ANTHROPIC_KEY, COMPAT_KEY, EXTRA_SECRET, set_secrets

from agentbook.redaction import Redactor
from agentbook.session.history import history_from_transcript
from agentbook.session.transcript import HOLD_AT, Transcript

VALUES = [ANTHROPIC_KEY, COMPAT_KEY, EXTRA_SECRET]


def leaked(text: str, value: str) -> list[str]:
    """Stretches of 8 characters of `value` that `text` shows."""
    return [value[i:i + 8] for i in range(len(value) - 7) if value[i:i + 8] in text]


def written(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("value", VALUES, ids=["anthropic", "compat", "extra"])
@pytest.mark.parametrize("cut", [3, 8, 13, 20])
def test_a_secret_in_two_tool_results_is_replaced_whole(value: str, cut: int, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    set_secrets(monkeypatch)
    monkeypatch.setenv("AGENTBOOK_TEST_EXTRA", EXTRA_SECRET)
    path = tmp_path / "transcript.jsonl"
    log = Transcript(path, "s1", Redactor([EXTRA_SECRET]))
    log.event("tool", id="t1", name="bash", input={"command": "head -c 20 key"}, content=f"part one: {value[:cut]}")
    log.event("tool", id="t2", name="bash", input={"command": "tail -c +21 key"}, content=f"{value[cut:]}\nexit 0")
    log.close()
    text = path.read_text(encoding="utf-8")
    assert leaked(text, value) == [], text
    records = written(path)
    assert [r["id"] for r in records] == ["t1", "t2"]
    assert records[0]["content"].startswith("part one: ") and records[1]["content"].endswith("\nexit 0")


def test_a_percent_encoded_secret_in_two_tool_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    set_secrets(monkeypatch)
    encoded = "".join(f"%{b:02X}" for b in COMPAT_KEY.encode())
    path = tmp_path / "transcript.jsonl"
    log = Transcript(path, "s1", Redactor())
    log.event("tool", id="t1", name="bash", input={"command": "a"}, content=f"url ?k={encoded[:40]}")
    log.event("tool", id="t2", name="bash", input={"command": "b"}, content=f"{encoded[40:]}&x=1")
    log.close()
    text = path.read_text(encoding="utf-8")
    assert encoded[:24] not in text and encoded[-24:] not in text, text
    assert [r["id"] for r in written(path)] == ["t1", "t2"]


def test_a_secret_split_between_a_tool_result_and_the_reply(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    set_secrets(monkeypatch)
    path = tmp_path / "transcript.jsonl"
    log = Transcript(path, "s1", Redactor())
    log.event("tool", id="t1", name="read_file", input={"path": "notes"}, content=f"key = {ANTHROPIC_KEY[:30]}")
    log.event("assistant", turn=2, content=[{"type": "text", "text": f"{ANTHROPIC_KEY[30:]} is the rest."}],
              stop_reason="end_turn")
    log.close()
    text = path.read_text(encoding="utf-8")
    assert leaked(text, ANTHROPIC_KEY) == [], text
    assert written(path)[1]["content"][0]["text"].endswith(" is the rest.")


def test_a_record_that_ends_otherwise_is_written_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    set_secrets(monkeypatch)
    path = tmp_path / "transcript.jsonl"
    log = Transcript(path, "s1", Redactor())
    log.event("tool", id="t1", name="bash", input={"command": "ls"}, content="README.md\nsrc\n")
    assert [r["id"] for r in written(path)] == ["t1"]  # before the next record or the end
    log.event("tool", id="t2", name="bash", input={"command": "cat x"}, content=f"token {ANTHROPIC_KEY[:20]}")
    assert [r["id"] for r in written(path)] == ["t1"]  # held: the next record decides
    log.close()
    assert [r["id"] for r in written(path)] == ["t1", "t2"]
    assert leaked(path.read_text(encoding="utf-8"), ANTHROPIC_KEY) == []


CHILD = """
import os, signal, sys
from agentbook.redaction import Redactor
from agentbook.session.transcript import HOLD_AT, Transcript
key = os.environ["ANTHROPIC_API_KEY"]
log = Transcript(sys.argv[1], "s1", Redactor())
log.event("user", text="read the notes")
log.event("assistant", turn=1, content=[{"type": "tool_use", "id": "t1", "name": "read_file",
          "input": {"path": "notes"}}], stop_reason="tool_use")
log.event("tool", id="t1", name="read_file", input={"path": "notes"}, content="key = " + key[:30])
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_kill_9_while_a_record_is_held_leaves_a_transcript_a_resume_reads(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    set_secrets(monkeypatch)
    path = tmp_path / "transcript.jsonl"
    proc = subprocess.run([sys.executable, "-c", CHILD, str(path)], env=dict(os.environ), check=False)
    assert proc.returncode == -signal.SIGKILL
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n") and leaked(text, ANTHROPIC_KEY) == []
    assert [r["event"] for r in written(path)] == ["user", "assistant"]  # whole records, the held one not yet
    history = history_from_transcript(path)  # what a resumed session sends: the call answered as interrupted
    assert [m["role"] for m in history] == ["user", "assistant", "user"]
    assert history[-1]["content"][0]["tool_use_id"] == "t1" and history[-1]["content"][0]["is_error"]


@pytest.mark.parametrize("cuts", [(12, 30), (20, 24), (5, 40)], ids=["thirds", "a short middle", "a long middle"])
def test_a_secret_over_three_records_with_only_a_middle_piece_in_the_middle(cuts: tuple[int, int], tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Each record holds a third: the middle one nothing but its middle piece."""
    set_secrets(monkeypatch)
    a, b = cuts
    path = tmp_path / "transcript.jsonl"
    log = Transcript(path, "s1", Redactor())
    log.event("tool", id="t1", name="bash", input={"command": "head -c 12 key"}, content=f"one: {ANTHROPIC_KEY[:a]}")
    log.event("tool", id="t2", name="bash", input={"command": "cut -c 13-30 key"}, content=ANTHROPIC_KEY[a:b])
    log.event("tool", id="t3", name="bash", input={"command": "tail -c +31 key"}, content=f"{ANTHROPIC_KEY[b:]}\nexit 0")
    log.close()
    text = path.read_text(encoding="utf-8")
    assert leaked(text, ANTHROPIC_KEY) == [], text
    records = written(path)
    assert [r["id"] for r in records] == ["t1", "t2", "t3"]
    assert records[0]["content"].startswith("one: ") and records[2]["content"].endswith("\nexit 0")


def test_a_secret_split_over_two_turns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The model's next call stands between the two tool results: the rest is not in the next record."""
    set_secrets(monkeypatch)
    path = tmp_path / "transcript.jsonl"
    log = Transcript(path, "s1", Redactor())
    log.event("tool", id="t1", name="bash", input={"command": "head -c 25 key"}, content=ANTHROPIC_KEY[:25])
    log.event("assistant", turn=2, content=[{"type": "text", "text": "and the rest"},
                                            {"type": "tool_use", "id": "t2", "name": "bash",
                                             "input": {"command": "tail -c +26 key"}}], stop_reason="tool_use")
    log.event("tool", id="t2", name="bash", input={"command": "tail -c +26 key"}, content=ANTHROPIC_KEY[25:])
    log.close()
    text = path.read_text(encoding="utf-8")
    assert leaked(text, ANTHROPIC_KEY) == [], text
    assert [r["event"] for r in written(path)] == ["tool", "assistant", "tool"]


FIRST_HALF = """
import os, signal, sys
from agentbook.redaction import Redactor
from agentbook.session.transcript import HOLD_AT, Transcript
key = os.environ["AGENTBOOK_COMPAT_API_KEY"]
log = Transcript(sys.argv[1], "s1", Redactor())
log.event("user", text="read the key")
log.event("tool", id="t1", name="bash", input={"command": "head"}, content="key = " + key[:int(sys.argv[2])])
if sys.argv[3] == "kill":
    log.event("assistant", turn=2, content=[{"type": "text", "text": "more"}], stop_reason="tool_use")
    os.kill(os.getpid(), signal.SIGKILL)
log.close()
"""


@pytest.mark.parametrize(("cut", "end"), [(3, "kill"), (30, "stop")], ids=["kill -9", "stopped and resumed"])
def test_a_secret_split_across_a_resume(cut: int, end: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first part is the last thing one process wrote (a short one written at once before a kill -9, or
    a long one written as the session stopped); the resumed session, a new process, writes the rest. (A first
    part that is a key's shape is written replaced, and then says nothing of what follows: not caught.)"""
    set_secrets(monkeypatch)
    path = tmp_path / "transcript.jsonl"
    proc = subprocess.run([sys.executable, "-c", FIRST_HALF, str(path), str(cut), end], env=dict(os.environ),
                          check=False)
    assert proc.returncode == (-signal.SIGKILL if end == "kill" else 0)
    log = Transcript(path, "s1", Redactor())  # as `--resume` opens it again
    log.event("session_start", model="scripted:x", root=str(tmp_path), history_messages=3)
    log.event("tool", id="t2", name="bash", input={"command": "tail"}, content=f"{COMPAT_KEY[cut:]}\nexit 0")
    log.close()
    text = path.read_text(encoding="utf-8")
    assert COMPAT_KEY[cut:cut + 8] not in text and leaked(text, COMPAT_KEY[HOLD_AT:]) == [], text
    events = [r["event"] for r in written(path)]
    assert events[-2:] == ["session_start", "tool"] and events.count("tool") == 2, events
