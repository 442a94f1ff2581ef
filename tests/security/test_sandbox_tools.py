"""Every tool call bounded: fifos, sockets and devices refused by read/grep/glob/edit, a wall clock on
each call whatever the tool does, and the session's --timeout firing through a hung tool. The agent
is scripted (the real session loop and tools; only the model is a stand-in)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from sandbox_kit import make_root, needs_jail

from agentbook.cli import main
from agentbook.session import Budgets, SessionConfig, run_session
from agentbook.session.limits import Limits
from agentbook.session.tools import ToolContext, ToolResult, get_tools


def script(tmp_path: Path, *turns: dict[str, Any]) -> Path:
    path = tmp_path / "agent.script.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "model": "scripted", "sessions": [
        {"name": "attack", "match": {"first_user": "attack"}, "turns": [*turns, {"text": "Done."}]}]}))
    return path


def call(name: str, **args: Any) -> dict[str, Any]:
    return {"tool_use": {"name": name, "input": args}}


def tool_results(transcript: Path) -> list[dict[str, Any]]:
    events = [json.loads(line) for line in transcript.read_text().splitlines()]
    return [e for e in events if e["event"] == "tool"]


def run_tool(name: str, root: Path, **args: Any) -> ToolResult:
    (tool,) = get_tools([name])
    outcome = tool.run(args, ToolContext(root=root, sandbox="bwrap"))
    if asyncio.iscoroutine(outcome):
        outcome = asyncio.run(outcome)
    assert isinstance(outcome, ToolResult)
    return outcome


@needs_jail
@pytest.mark.timeout(120)  # a hang fails here instead of stalling the suite
def test_fifo_then_grep_does_not_hang_the_session(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_root(tmp_path)
    agent = script(tmp_path, call("bash", command="mkfifo trap.txt && echo made"),
                   call("grep", pattern="anything"), call("read", path="trap.txt"),
                   call("glob", pattern="*.txt"), call("edit", path="trap.txt", old_string="a", new_string="b"),
                   call("grep", pattern="x", path="trap.txt"))
    code = main(["session", "--model", f"scripted:{agent}", "--root", str(root), "--out", str(tmp_path / "out"),
                 "--timeout", "20s", "--json", "attack"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["outcome"]["kind"] == "completed"
    results = [r["content"] for r in tool_results(Path(data["transcript_path"]))]
    assert results[0].startswith("made")
    assert results[1] == "no matches for 'anything'"
    assert results[2] == "error: trap.txt is a fifo, not a regular file; refused"
    assert results[3] == "no files match '*.txt'"
    assert results[4].startswith("error: cannot edit trap.txt: fifo, not a regular file")
    assert "trap.txt" not in results[5] or results[5].startswith("no matches")


def test_sockets_and_devices_are_refused_by_the_file_tools(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(root / "s.sock"))
        os.mkfifo(root / "f.fifo")
        os.symlink("/dev/zero", root / "zero")  # leads out: refused before it is opened
        assert "socket, not a regular file" in run_tool("read", root, path="s.sock").content
        assert "fifo, not a regular file" in run_tool("read", root, path="f.fifo").content
        assert "outside the root" in run_tool("read", root, path="zero").content
        assert run_tool("grep", root, pattern=".").content.count("\n") >= 1
        assert "s.sock" not in run_tool("glob", root, pattern="**").content


@pytest.mark.timeout(60)
def test_a_hung_tool_is_abandoned_at_tool_seconds(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    agent = script(tmp_path, call("hang"), call("read", path="README.md"))
    config = SessionConfig(model=f"scripted:{agent}", root=root, tools=["read", Hang()], limits=Limits(tool_seconds=1),
                           budgets=Budgets(wall_seconds=30), transcript_path=tmp_path / "t.jsonl")
    result = asyncio.run(run_session(config, "attack"))
    assert result.outcome.kind.value == "completed"
    first, second = tool_results(tmp_path / "t.jsonl")
    assert first["content"] == "error: hang did not finish within 1s (limit 'tool_seconds') and was abandoned"
    assert second["content"].startswith("     1\t# the agent")


@pytest.mark.timeout(120)  # before the fix the session never came back: the regex held the GIL, clocks and all
def test_a_backtracking_grep_pattern_is_stopped_at_tool_seconds(tmp_path: Path) -> None:
    """A file the agent reads can dictate its next grep; `(a+)+$` against 40 `a`s and a `b` backtracks for
    days, and Python's `re` holds the GIL throughout: in the runner's process no clock could fire."""
    root = make_root(tmp_path)
    (root / "trap.txt").write_text("a" * 40 + "b\n")
    agent = script(tmp_path, call("grep", pattern="(a+)+$"), call("grep", pattern="b$"))
    config = SessionConfig(model=f"scripted:{agent}", root=root, tools=["grep"], limits=Limits(tool_seconds=2),
                           budgets=Budgets(wall_seconds=60), transcript_path=tmp_path / "t.jsonl")
    result = asyncio.run(run_session(config, "attack"))
    assert result.outcome.kind.value == "completed"
    stuck, after = tool_results(tmp_path / "t.jsonl")
    assert stuck["is_error"] and "2s" in stuck["content"], stuck
    assert after["content"] == "trap.txt:1:" + "a" * 40 + "b"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("blocking", [True, False], ids=["thread", "coroutine"])
def test_session_timeout_fires_whatever_a_tool_does(tmp_path: Path, blocking: bool) -> None:
    root = make_root(tmp_path)
    agent = script(tmp_path, call("hang"), call("read", path="README.md"))
    config = SessionConfig(model=f"scripted:{agent}", root=root, tools=[Hang(blocking=blocking)],
                           budgets=Budgets(wall_seconds=1.5), transcript_path=tmp_path / "t.jsonl")
    result = asyncio.run(run_session(config, "attack"))
    assert result.outcome.kind.value == "budget_exhausted" and result.outcome.reason == "wall"
    (only,) = tool_results(tmp_path / "t.jsonl")
    assert "wall clock ran out during this hang call" in only["content"]


@needs_jail
@pytest.mark.timeout(60)
def test_session_timeout_fires_through_a_long_bash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_root(tmp_path)
    agent = script(tmp_path, call("bash", command="sleep 120", timeout=600))
    code = main(["session", "--model", f"scripted:{agent}", "--root", str(root), "--out", str(tmp_path / "out"),
                 "--timeout", "2s", "--json", "attack"])
    data = json.loads(capsys.readouterr().out)
    assert data["outcome"]["kind"] == "budget_exhausted" and code != 0


@dataclass
class Hang:
    """A tool that never answers: in a worker thread (blocking) or as a coroutine that never wakes."""

    blocking: bool = True
    name: str = "hang"
    description: str = "Never returns."
    input_schema: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    read_only: bool = True

    def run(self, args: dict[str, Any], ctx: ToolContext) -> Any:
        if self.blocking:
            time.sleep(20)  # longer than any test waits: the session must not
            return ToolResult("woke up")
        return asyncio.sleep(3600, result=ToolResult("woke up"))
