"""Backtest fixtures: the generated example backtest (200 investigations, 20 accounts), imported and
analysed once per test session with the scripted analyst; tests that change a folder copy it first."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from types import ModuleType

import pytest
from bench.loader import load_module

from agentbook.backtest import embeddings
from agentbook.backtest.analyze import AnalyzeOptions, analyze_backtest
from agentbook.backtest.importer import import_backtest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "incident-assistant" / "backtest"
SCRIPT = EXAMPLE / "analyst.script.yaml"
SCRIPTED = f"scripted:{SCRIPT}"


def load_generator() -> ModuleType:
    return load_module(EXAMPLE / "generate.py", "backtest_generate")


def planted(source: Path) -> dict[str, dict[str, str | None]]:
    rows = [json.loads(line) for line in (source / "planted.jsonl").read_text().splitlines()]
    return {r["id"]: r for r in rows}


def script_with(text: str, tmp: Path, name: str = "analyst.script.yaml") -> Path:
    """The example analyst script with extra top-level YAML (defaults, server) inserted after `version`."""
    body = SCRIPT.read_text().replace("version: 1\n", f"version: 1\n{text}", 1)
    out = tmp / name
    out.write_text(body)
    return out


def script_with_session(session: str, tmp: Path, name: str = "custom.script.yaml") -> Path:
    """The example analyst script with `session` (YAML of one list item) tried before its own."""
    body = SCRIPT.read_text().replace("\nsessions:\n", f"\nsessions:\n{session}", 1)
    out = tmp / name
    out.write_text(body)
    return out


def copy_backtest(src: Path, dst: Path) -> Path:
    """A copy made of hard links (fast: a backtest is thousands of small files). The pipeline only ever
    replaces files by renaming, which never writes through a link; tests that edit a file in place
    must `rewrite` it."""
    def link_or_copy(source: str, target: str) -> None:
        if f"{os.sep}.agentbook{os.sep}" in source:  # logs are appended to in place: real copies
            shutil.copy2(source, target)
        else:
            os.link(source, target)

    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("analyze.lock"), copy_function=link_or_copy)
    return dst


def rewrite(path: Path, text: str) -> None:
    """Write `path` as a new file, so a hard-linked original keeps its bytes."""
    path.unlink()
    path.write_text(text)


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("generated")
    load_generator().generate(out, seed=7, count=200, accounts=20)
    return out


@pytest.fixture(scope="session")
def imported(generated: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("imported") / "bt"
    import_backtest(generated / "manifest.jsonl", out)
    return out


@pytest.fixture(scope="session")
def small_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated 60-investigation backtest (manifest + traces): enough to take the parallel import path."""
    src = tmp_path_factory.mktemp("small-src")
    load_generator().generate(src, seed=3, count=60, accounts=10)
    return src


@pytest.fixture(scope="session")
def small(small_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small backtest imported, for the tests that run `analyze` in subprocesses."""
    out = tmp_path_factory.mktemp("small") / "bt"
    import_backtest(small_source / "manifest.jsonl", out)
    return out


@pytest.fixture(scope="session")
def analysed(imported: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = copy_backtest(imported, tmp_path_factory.mktemp("analysed") / "bt")
    summary = analyze_backtest(out, AnalyzeOptions(model=SCRIPTED, progress=False))
    assert summary.done == 200 and not summary.failed, summary.to_json()
    return out


@pytest.fixture
def default_meaning() -> None:
    """For tests whose figures are measured with the default encoder (WordLlama, which `make test`
    installs): without it `cluster` falls back to words alone and the cohorts differ, so the test says
    that instead of failing on an ARI or a member."""
    meaning = embeddings.embedder()[1]
    if meaning.encoder != embeddings.WORDLLAMA:
        pytest.fail(f"this test's figures are measured with WordLlama, which is not usable here ({meaning.note}); "
                    "`make meaning` installs it (`make test` does)", pytrace=False)
