"""A Claude Code session file's export reads its subagents' transcripts beside it (`<session>/subagents/
agent-<id>.jsonl`). It refused a `subagents` that is a link, but followed a `<session>` folder that is one:
a trace handed over with `s.jsonl` and `s -> ~/.claude/projects/<a project of the user's>` exported the
user's own subagent transcripts (their prompts, the files they read) as part of the stranger's trace."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.traces.test_claude_subagents import session, written  # noqa: F401 - the real Claude Code's files

from agentbook.traces.export import export_many
from agentbook.traces.read import read_trace


def test_a_session_folder_that_is_a_link_is_not_read_for_subagents(session: Path, tmp_path: Path) -> None:  # noqa: F811
    folder = session.with_suffix("")
    (agent_file,) = folder.glob("subagents/agent-*.jsonl")
    users = tmp_path / "users-own-project"  # where the link leads: a folder of the user's, not the trace's
    shutil.move(str(folder), users)
    moved = users / "subagents" / agent_file.name
    moved.write_text(moved.read_text().replace("sub-hello", "USERS-PRIVATE-4b7x"))
    folder.symlink_to(users)
    export_many(read_trace(session), tmp_path / "out")
    exported = "".join(p.read_text(errors="replace") for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert "USERS-PRIVATE-4b7x" not in exported, "the export read a subagent transcript through a link"
