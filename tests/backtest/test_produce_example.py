"""The example system runs its own backtest: `backtest run` on the incident assistant's 60 recorded
incidents (its real code and prompts, a git repo in tmp, the real jail), then import, analyze and
cluster: the cohorts are its planted causes, which live in its prompts and code; fixing a prompt or
the code changes the answers of exactly the incidents that cause broke."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from bench.loader import load_module

from agentbook.backtest.analyze import AnalyzeOptions, analyze_backtest
from agentbook.backtest.cohorts import cluster_backtest
from agentbook.backtest.importer import import_backtest
from agentbook.backtest.produce import RunOptions, produce_backtest
from agentbook.session.sandbox import bwrap_works

from .conftest import REPO

pytestmark = pytest.mark.skipif(not bwrap_works(), reason="bubblewrap cannot create namespaces here")

EXAMPLE = REPO / "examples" / "incident-assistant"
RUN = EXAMPLE / "backtest" / "run"
# shape of an incident -> the stage the analyst finds the failure in (None: the assistant gets it right)
CAUSE = {"single": None, "java-logger": "query-generation", "cascade": "reasoning", "jvm": "retrieval",
         "critical": "answer"}
FIXES = {  # file -> (text, replacement): the fix each planted cause needs
    "prompts/logql.md": ("- Filter lines for the word",
                         ("- Match severity words such as error case-insensitively: `|~ \"(?i)error\"`.\n"
                         "- Filter lines for the word")),
    "prompts/root-cause.md": ("Answer with one JSON object",
                              ("In a cascade the earliest error is usually the cause; later errors from other "
                              "components are its symptoms.\n\nAnswer with one JSON object")),
    "assistant/tools/loki.py": ("MAX_LINE_CHARS = 200", "MAX_LINE_CHARS = 100_000"),
    "assistant/investigate.py": ("answer = json.loads(text)",
                                 "answer = json.loads(text.strip().removeprefix('```json').removesuffix('```'))"),
}


def _shapes() -> dict[str, str]:
    plan: dict[str, str] = load_module(RUN / "make_incidents.py", "make_incidents").shapes()
    return plan


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t", *args], check=True,
                   capture_output=True)


def make_system(dest: Path) -> Path:
    """The parts of the example its backtest runs (assistant, prompts, backtest/run) as a git repo."""
    for part in ("assistant", "prompts", "backtest/run"):
        shutil.copytree(EXAMPLE / part, dest / part, ignore=shutil.ignore_patterns("__pycache__"))
    _git(dest, "init", "-q")
    _git(dest, "add", "-A")
    _git(dest, "commit", "-qm", "incident assistant")
    return dest


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The example's backtest, run once: (system repo, run folder)."""
    base = tmp_path_factory.mktemp("example")
    system = make_system(base / "system")
    out = base / "run"
    summary = produce_backtest(system / "backtest" / "run" / "run.yaml", out, RunOptions(jobs=4))
    assert summary.failed == [] and summary.done == 60
    return system, out


def _verdicts(out: Path) -> dict[str, str]:
    return {r["id"]: r["verdict"] for r in map(json.loads, (out / "manifest.jsonl").read_text().splitlines())}


def test_the_incidents_are_up_to_date() -> None:
    ran = subprocess.run(["python3", str(RUN / "make_incidents.py"), "--check"], capture_output=True, text=True,
                         check=False)
    assert ran.returncode == 0, ran.stdout


def test_the_planted_causes_fail_and_the_rest_pass(baseline: tuple[Path, Path]) -> None:
    _, out = baseline
    shapes, verdicts = _shapes(), _verdicts(baseline[1])
    wrong_by_shape = Counter(shapes[i] for i, v in verdicts.items() if v == "wrong")
    assert wrong_by_shape == Counter({"cascade": 12, "java-logger": 10, "jvm": 8, "critical": 6})
    assert sum(v == "correct" for v in verdicts.values()) == 24
    trace = json.loads((out / "runs" / "inc-001" / "trace.otlp.json").read_text())
    names = [s["name"] for s in trace["resourceSpans"][0]["scopeSpans"][0]["spans"]]
    assert names == ["invoke_agent incident-assistant", "chat claude-haiku-4-5", "execute_tool loki.query_range",
                     "chat claude-haiku-4-5"]


def test_analyze_and_cluster_find_one_cohort_per_planted_cause(baseline: tuple[Path, Path], tmp_path: Path) -> None:
    system, out = baseline
    bt = tmp_path / "bt"
    import_backtest(out / "manifest.jsonl", bt)
    analyst = f"scripted:{system / 'backtest' / 'run' / 'analyst.script.yaml'}"
    analyzed = analyze_backtest(bt, AnalyzeOptions(model=analyst, code=str(system), progress=False))
    assert analyzed.done == 60 and not analyzed.failed
    summary = cluster_backtest(str(bt), code=str(system))
    shapes = _shapes()
    found = {}
    for cohort in summary.cohorts:
        members = cohort["members"]
        kinds = Counter(shapes[m] for m in members)
        (shape, count), = kinds.most_common(1)
        found[shape] = (count, len(members))
    planted = Counter(s for s in shapes.values() if CAUSE[s])
    assert set(found) == set(planted)  # one cohort per cause, no cohort without one
    for shape, (count, size) in found.items():
        assert count == size == planted[shape], shape  # purity and recall 1.0


def test_each_fix_repairs_the_incidents_its_cause_broke(baseline: tuple[Path, Path], tmp_path: Path) -> None:
    system, out = baseline
    shapes, before = _shapes(), _verdicts(out)
    sample = [next(i for i, s in shapes.items() if s == shape) for shape in CAUSE]  # one incident per shape
    fixed = tmp_path / "fixed"
    shutil.copytree(system, fixed)
    for rel, (old, new) in FIXES.items():
        text = (fixed / rel).read_text()
        assert old in text, rel
        (fixed / rel).write_text(text.replace(old, new, 1))
    _git(fixed, "commit", "-qam", "fix the four planted causes")
    after = produce_backtest(fixed / "backtest" / "run" / "run.yaml", tmp_path / "run", RunOptions(only=sample))
    assert after.failed == [] and after.correct == len(sample)
    assert [before[i] for i in sample] == ["correct" if CAUSE[shapes[i]] is None else "wrong" for i in sample]


@pytest.mark.parametrize("prompts", ["as they are", "fixed"])
def test_the_eval_model_answers_the_backtests_prompts_as_production_does(
        prompts: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One model, two uses: every incident investigated with the eval model (`evals/sut.script.yaml`, what
    fix-prompt's checks run) gets the answer the production model (`backtest run`'s) gives, on the prompts
    as they are and with both prompt fixes: so a prompt fix the evals accept is one that moves the backtest."""
    import asyncio

    system = tmp_path / "system"
    shutil.copytree(EXAMPLE / "assistant", system / "assistant", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(EXAMPLE / "prompts", system / "prompts")
    for rel, (old, new) in FIXES.items():
        if prompts == "fixed" and rel.startswith("prompts/"):
            (system / rel).write_text((system / rel).read_text().replace(old, new, 1))
    monkeypatch.delenv("AGENTBOOK_TRACE_FILE", raising=False)
    monkeypatch.syspath_prepend(str(system))
    for name in [m for m in sys.modules if m == "assistant" or m.startswith("assistant.")]:
        monkeypatch.delitem(sys.modules, name)
    from assistant.investigate import investigate

    rows = [json.loads(line) for line in (RUN / "incidents.jsonl").read_text().splitlines()]
    models = {name: f"scripted:{path}" for name, path in (("eval", EXAMPLE / "evals" / "sut.script.yaml"),
                                                          ("production", RUN / "production.script.yaml"))}

    async def answers(spec: str) -> list[dict[str, object]]:
        return [await investigate(row["input"], spec) for row in rows]

    got = {name: asyncio.run(answers(spec)) for name, spec in models.items()}
    assert got["eval"] == got["production"]
    right = sum(a["component"] == row["expected"]["component"] for a, row in zip(got["eval"], rows, strict=True))
    assert right == (24 if prompts == "as they are" else 24 + 12 + 10)  # the two prompt cohorts, repaired
