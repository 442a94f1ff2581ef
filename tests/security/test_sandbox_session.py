"""The issue's own attacks, in order, by a scripted agent through `agentbook session` (the real CLI,
session loop and bash tool; only the model is scripted), with the runner holding both secrets: every
one fails, nothing outside the root changes, no secret reaches the output or the records, nothing
connects, the limits hold, and the session ends `completed` within its --timeout."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from sandbox_kit import SECRETS, Listener, Sentinels, make_root, needs_jail, no_secret

from agentbook.cli import main

pytestmark = needs_jail


@pytest.mark.timeout(300)
def test_the_issues_attacks_through_a_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    root = make_root(tmp_path)
    listener = Listener(tmp_path / "outside" / "host.sock")
    sentinels = Sentinels(tmp_path / "outside")
    commands = [
        "grep CapEff /proc/self/status",
        "mkdir -p m && mount --bind / m && mount -o remount,rw,bind m && echo REMOUNTED",
        "umount /proc; cat /proc/*/environ | tr '\\0' '\\n' | grep -E 'API_KEY|TOKEN'; echo searched",
        f"nsenter --net=/proc/1/ns/net -- bash -c 'exec 3<>/dev/tcp/127.0.0.1/{listener.port}' && echo NSENTERED",
        (f"python3 -c \"import socket; s = socket.socket(socket.AF_UNIX); s.connect('{listener.unix_path}')\" "
         "&& echo UNIX"),
        "cat /etc/shadow; ls /home; echo listed",
        ("python3 -c \"import os, time\nn = 0\ntry:\n    while n < 300:\n        if os.fork() == 0:\n"
         "            time.sleep(20); os._exit(0)\n        n += 1\nexcept OSError:\n    pass\nprint('spawned', n)\""),
        "head -c 300M /dev/zero > big.bin; ls -l big.bin",
        "mkfifo trap.txt && echo fifo",
    ]
    turns = [{"tool_use": {"name": "bash", "input": {"command": c, "timeout": 20}}} for c in commands]
    turns += [{"tool_use": {"name": "grep", "input": {"pattern": "x"}}},
              {"tool_use": {"name": "read", "input": {"path": "trap.txt"}}}, {"text": "Done."}]
    script = tmp_path / "agent.script.yaml"
    script.write_text(yaml.safe_dump({"version": 1, "model": "scripted", "sessions": [
        {"name": "attack", "match": {"first_user": "attack"}, "turns": turns}]}))
    code = main(["session", "--model", f"scripted:{script}", "--root", str(root), "--out", str(tmp_path / "out"),
                 "--timeout", "120s", "--max-tool-errors", "50", "--limit", "processes=60", "--limit",
                 "file_size=10M", "--json", "attack"])
    printed = capsys.readouterr()
    no_secret(printed.out + printed.err)
    data = json.loads(printed.out)
    assert code == 0 and data["outcome"]["kind"] == "completed" and data["sandbox"] == "bwrap"
    transcript = Path(data["transcript_path"]).read_text()
    no_secret(transcript)
    results = [json.loads(line)["content"] for line in transcript.splitlines() if '"event": "tool"' in line]
    assert len(results) == len(commands) + 2
    assert results[0].startswith("CapEff:\t0000000000000000")
    for marker in ("REMOUNTED", "NSENTERED", "UNIX"):
        assert not any(marker in r for r in results)
    assert "searched" in results[2]
    assert "listed" in results[5] and "root:" not in results[5] and "Permission denied" in results[5]
    assert int(results[6].split("spawned ")[1].split()[0]) < 60
    assert (root / "big.bin").stat().st_size <= 10 * 1024 * 1024
    assert results[-1] == "error: trap.txt is a fifo, not a regular file; refused"
    sentinels.unchanged()
    assert listener.accepted() == []
    listener.close()
