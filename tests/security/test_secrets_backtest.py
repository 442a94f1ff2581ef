"""A backtest's analyst quotes the traces it reads, and a production trace can hold a key the runner holds
too (the same GitHub token, the same API key): its analysis (analysis.json, analysis.md), from which the
report, the cohort pages and the fix tickets are made, was written as the model said it. Now both pass
through the redactor, every form. The analyst is the stand-in on loopback, reached through the real SDK."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import pytest
import yaml
from bench.loader import load_module

sys.path.insert(0, str(Path(__file__).parent))
from gitkit import GITHUB_TOKEN

from agentbook.backtest.analyze import AnalyzeOptions, analyze_backtest
from agentbook.backtest.folder import BacktestFolder
from agentbook.backtest.importer import import_backtest
from agentbook.standin import running

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "incident-assistant" / "backtest"
FORMS = {
    "plain": GITHUB_TOKEN,
    "percent-encoded": "".join(f"%{b:02X}" for b in GITHUB_TOKEN.encode()),
    "base64": base64.b64encode(b"token: " + GITHUB_TOKEN.encode()).decode(),
    "reversed": GITHUB_TOKEN[::-1],
}


def test_an_analysis_quoting_a_held_key_is_written_redacted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", GITHUB_TOKEN)
    load_module(EXAMPLE / "generate.py", "backtest_generate").generate(tmp_path / "src", seed=7, count=3, accounts=1)
    import_backtest(tmp_path / "src" / "manifest.jsonl", tmp_path / "bt")
    answer = {"verdict": "wrong", "failure_mode": f"the request carried {FORMS['plain']} ({FORMS['percent-encoded']})",
              "error_signature": f"401 for {FORMS['base64']}", "stage": "query-generation",
              "first_wrong_step": {"span_path": "root", "description": "auth failed"}, "suspected": [], "evidence": [],
              "proposed_change": "rotate it", "confidence": 0.5, "summary": f"leaked {FORMS['reversed']}"}
    script = tmp_path / "analyst.script.yaml"
    script.write_text(yaml.safe_dump({"version": 1, "model": "scripted", "default": {
        "turns": [{"text": "```json\n" + json.dumps(answer) + "\n```"}]}}))
    inv = BacktestFolder(tmp_path / "bt").investigations()[0]
    with running(script) as server:
        summary = analyze_backtest(tmp_path / "bt", AnalyzeOptions(model=f"compat:{server.base_url}#scripted",
                                                                    only=[inv.id], progress=False))
    assert summary.done == 1, summary.to_json()
    for name in ("analysis.json", "analysis.md"):
        text = (inv.path / name).read_text()
        assert "[REDACTED]" in text, text
        assert [form for form, value in FORMS.items() if value in text] == [], name
    assert json.loads((inv.path / "analysis.json").read_text())["verdict"] == "wrong"
