"""agentbook's suites stay promptfoo suites: promptfoo 0.121 itself (from npm, installed once into a
cache folder) loads and runs each of them with its offline `echo` provider, every case producing a
result. Skips with the reason when node/npm or the npm registry is not reachable."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from tests.conftest import REPO_ROOT
from tests.npm_tools import install_promptfoo

from agentbook.evals.store import open_suite

SUITES = [
    "examples/incident-assistant/evals/logql/suite.yaml",
    "examples/incident-assistant/evals/summarise-alert.yaml",
    "tests/evals/fixtures/single/promptfooconfig.yaml",
    "tests/evals/fixtures/split/suite.yaml",
    "tests/evals/fixtures/shapes/promptfooconfig.yaml",
]


@pytest.fixture(scope="module")
def promptfoo() -> Path:
    binary, why = install_promptfoo()
    if binary is None:
        pytest.skip(why)
    return binary


def _copy(rel: str, tmp_path: Path) -> Path:
    """The suite's whole repository folder, so its relative file:// paths resolve as they do at home."""
    top = REPO_ROOT / rel.split("/")[0] / rel.split("/")[1]
    dest = tmp_path / top.relative_to(REPO_ROOT)
    shutil.copytree(top, dest, ignore=shutil.ignore_patterns(".agentbook", "__pycache__"))
    return tmp_path / rel


@pytest.mark.parametrize("rel", SUITES)
def test_promptfoo_runs_the_suite(promptfoo: Path, rel: str, tmp_path: Path) -> None:
    suite = _copy(rel, tmp_path)
    cases = len(open_suite(suite).list_cases())
    out = tmp_path / "out.json"
    env = {**os.environ, "PROMPTFOO_DISABLE_TELEMETRY": "1", "PROMPTFOO_DISABLE_UPDATE": "1",
           "PROMPTFOO_CONFIG_DIR": str(tmp_path / ".promptfoo"), "PROMPTFOO_DISABLE_SHARING": "1"}
    run = subprocess.run([str(promptfoo), "eval", "-c", str(suite), "--providers", "echo", "--no-cache",
                          "--no-table", "--no-progress-bar", "-o", str(out)],
                         cwd=suite.parent, env=env, capture_output=True, text=True, timeout=300, check=False)
    # 0: all passed, 100: some assertion failed (the echo provider answers with the prompt): both ran
    assert run.returncode in (0, 100), run.stdout[-2000:] + run.stderr[-2000:]
    results = json.loads(out.read_text())["results"]
    rows = results["results"] if isinstance(results, dict) else results
    prompts = {r.get("promptIdx", 0) for r in rows} or {0}
    assert len(rows) >= cases * len(prompts) > 0, f"{len(rows)} results for {cases} cases"
    loading = [r["error"] for r in rows if r.get("error") and "assert" not in str(r["error"]).lower()]
    assert not [e for e in loading if "Cannot" in e or "not found" in e.lower()], loading[:3]
