"""A gate's `agentbook eval run` read the response cache beside the suite (`.agentbook/responses.sqlite`),
which is in the worktree and so the agent's to write: rows it forged (the expected answer under the key
of each case) were the model's answers, and fix-prompt's "the new case passes every time" check passed on
a prompt that fixed nothing. Inside an agent's jail (its bash, a gate) the cache is no longer read. The
gate here runs in the real jail; the suite's model is a scripted one that answers its prompt wrong."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from agentbook.runbooks.gates import run_gate
from agentbook.session import jail

sys.path.insert(0, str(Path(__file__).parent))
from evalkit import BAD_PROMPT, SUT, one_case_suite


@pytest.mark.skipif(jail.problem() is not None, reason="needs a working jail")
def test_a_gate_does_not_take_answers_from_a_cache_the_agent_wrote(tmp_path: Path) -> None:
    root = tmp_path / "work"
    root.mkdir()
    (root / "suite.yaml").write_text(one_case_suite(BAD_PROMPT))
    (root / "sut.script.yaml").write_text(SUT)
    run = [sys.executable, "-m", "agentbook", "eval", "run", "suite.yaml", "--model", "scripted:sut.script.yaml"]
    first = subprocess.run(run, cwd=root, capture_output=True, text=True, check=False, timeout=300)
    assert first.returncode == 1, first.stdout + first.stderr  # the model answers wrong: the case fails
    cache = sqlite3.connect(root / ".agentbook" / "responses.sqlite")  # what the agent's bash may do
    rows = list(cache.execute("SELECT key, body FROM responses"))
    assert rows
    for key, body in rows:
        cache.execute("UPDATE responses SET body = ? WHERE key = ?", (json.dumps({**json.loads(body), "text": "right"}), key))
    cache.commit()
    cache.close()
    gate = run_gate("agentbook eval run suite.yaml --model scripted:sut.script.yaml", root, protected=[])
    assert gate.exit_code == 1, gate.output[-2000:]
    assert "0 cached responses" in gate.output or "cached" not in gate.output, gate.output[-2000:]
