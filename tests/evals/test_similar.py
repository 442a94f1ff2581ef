"""promptfoo `similar` (embeddings) graded with agentbook's local sentence encoders, and `moderation`,
which needs a provider agentbook does not have: a refusal saying so. Over recorded outputs
(`providerOutput`), so no model is called; the similarity tests skip where the `meaning` extra is not
installed, and the answer there is tested with a damaged install (the package without its files)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.evals.test_javascript import MODEL, asserts_of, suite_with

from agentbook.backtest import embeddings

try:
    embeddings.load(embeddings.DEFAULT)
    WHY_NOT = None
except embeddings.Unavailable as err:
    WHY_NOT = str(err)
needs_meaning = pytest.mark.skipif(WHY_NOT is not None, reason=f"no local encoder here: {WHY_NOT}")

ANSWER = "The disk on db-2 is full."


def graded(run_cli: Callable[..., Any], suite: Path) -> tuple[int, list[dict[str, Any]]]:
    res = run_cli("eval", "run", str(suite), "--model", MODEL, "--no-cache", "--json", "--full")
    return res.code, asserts_of(json.loads(res.out), "only")


@needs_meaning
def test_similar_passes_a_paraphrase_and_fails_another_answer(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    suite = suite_with(tmp_path / "s",
                       "{type: similar, value: 'db-2 ran out of disk space', threshold: 0.6}",
                       "{type: similar, value: 'The service timed out.'}",
                       "{type: similar, value: ['The service timed out.', 'db-2 has no disk space left'], threshold: 0.6}",
                       "{type: not-similar, value: 'The service timed out.'}",
                       "{type: 'similar:dot', value: 'db-2 ran out of disk space', threshold: 0.6}",
                       "{type: 'similar:euclidean', value: 'db-2 ran out of disk space', threshold: 0.9}",
                       "{type: similar, value: 'db-2 ran out of disk space', threshold: 0.6, provider: minilm}",
                       "{type: similar, value: ['The service timed out.', 'file://expected.txt'], threshold: 0.6}",
                       output=ANSWER)
    (suite.parent / "expected.txt").write_text("db-2 has run out of disk space\n")
    code, results = graded(run_cli, suite)
    assert code == 1
    assert [(r["pass"], r["error"]) for r in results] == [
        (True, False), (False, False), (True, False), (True, False), (True, False), (True, False), (True, False),
        (True, False)]
    assert results[0]["reason"].startswith("cosine similarity 0.") and "(at least 0.6 passes)" in results[0]["reason"]
    assert 0.6 <= results[0]["score"] <= 1.0 and results[1]["score"] < 0.75
    assert results[5]["reason"].startswith("euclidean distance 0.")


def test_similar_with_a_remote_embedding_provider_is_refused(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    suite = suite_with(tmp_path / "s", "{type: similar, value: 'x', provider: 'openai:embedding:text-embedding-3-large'}",
                       "{type: similar, value: ['ok', 3]}", "{type: similar, value: 'y'}")
    text = suite.read_text()  # promptfoo's suite-wide override of the embedding provider names one too
    suite.write_text(text.replace("tests:\n", "defaultTest:\n  options:\n    provider:\n      embedding:\n"
                                              "        id: azureopenai:embedding:ada\ntests:\n"))
    code, results = graded(run_cli, suite)
    assert code == 2 and all(r["error"] for r in results)
    assert "provider 'openai:embedding:text-embedding-3-large'" in results[0]["reason"]
    assert "provider 'azureopenai:embedding:ada'" in results[2]["reason"]
    assert results[1]["reason"] == "bad assertion value: similar needs a string or a list of strings"


def test_moderation_is_refused_naming_what_it_needs(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    suite = suite_with(tmp_path / "s", "{type: moderation, value: [harassment]}")
    code, results = graded(run_cli, suite)
    assert code == 2
    assert results[0]["error"] and results[0]["reason"].startswith("moderation is not supported here: needs a moderation API")


def test_similar_without_the_encoders_says_what_it_needs(tmp_path: Path) -> None:
    """A wordllama package without its files (a damaged or partial install) comes first on the path: the
    assertion is an error naming what to install, not a crash and not a pass."""
    fake = tmp_path / "site" / embeddings.PACKAGE
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    suite = suite_with(tmp_path / "s", "{type: similar, value: 'db-2 ran out of disk space'}", output=ANSWER)
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    proc = subprocess.run([sys.executable, "-c", "import sys; from agentbook.cli import main; sys.exit(main(sys.argv[1:]))",
                           "eval", "run", str(suite), "--model", MODEL, "--no-cache", "--json", "--full"],
                          check=False, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 2, proc.stderr
    (result,) = asserts_of(json.loads(proc.stdout), "only")
    assert result["error"] and result["reason"].startswith("similar is not supported here: needs the local sentence encoders")
    assert "weights/" in result["reason"] and "is missing" in result["reason"]


def test_a_similar_value_file_outside_the_repository_is_an_error(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    """`file://` values are read like every reference of the suite: inside its repository only."""
    (tmp_path / "secret.txt").write_text("db-2 ran out of disk space")
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    suite = suite_with(tmp_path / "repo" / "s", "{type: similar, value: 'file://../../secret.txt'}", output=ANSWER)
    res = run_cli("eval", "run", str(suite), "--model", MODEL, "--no-cache", "--json", "--full")
    (case,) = json.loads(res.out)["cases"]
    assert res.code == 2 and case["verdict"] == "error" and "is outside" in case["attempts"][0]["reason"]
