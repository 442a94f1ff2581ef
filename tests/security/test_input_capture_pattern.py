"""`eval capture` matches the suite's prompt against a traced message to recover its variables: each
placeholder a lazy `.*?`, with Python's `re`, which cannot be stopped (nor interrupted: Ctrl-C waits for it).
The prompt is the suite's and the message the trace's, both anyone's to write, and a prompt of seven
placeholders side by side over the example trace's message (a few KB with many spaces) backtracked for ever.
Matching now stops at a deadline, and the message is captured whole (`vars.input`), as for any message the
prompt does not fit. Run as its own process: the old code's hang cannot be stopped in this one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "incident-assistant"
TRACE = EXAMPLE / "traces" / "inv-0142-checkout-errors.otlp.json"
SPAN_ID = "bbda7d61bd6d19f8"


def test_a_prompt_of_adjacent_placeholders_does_not_hang_capture(tmp_path: Path) -> None:
    suite = tmp_path / "suite.yaml"
    placeholders = " ".join(f"{{{{v{i}}}}}" for i in range(7))
    suite.write_text(f"prompts: ['{placeholders} END']\ntests:\n  - id: seed\n    vars: {{v0: a}}\n")
    argv = [sys.executable, "-m", "agentbook", "eval", "capture", str(suite), "--otlp", str(TRACE),
            "--span-id", SPAN_ID, "--json"]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("eval capture was still matching the prompt after two minutes")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["matched_template"] is False
