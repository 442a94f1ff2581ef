"""The development generator (dev_ledger.py: a text-to-SQL analytics assistant) plants what its docstring
says: its causes at their shares, one cause in one account only, five analyst styles (one of them French
shorthand) over causes and causeless failures alike, and structured fields that are sometimes off or
missing. Same seed, same bytes; its backtest imports and takes its analyses."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from agentbook.backtest.folder import BacktestFolder
from agentbook.backtest.importer import import_backtest

from .dev_ledger import CACHE_RESULT, CAUSES, POOL_TIMEOUT, STYLE_NAMES, SYMPTOM_CAUSES, TRANSIENT, generate
from .support import support_generator


def _rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_plants_causes_styles_and_noisy_fields(tmp_path: Path) -> None:
    generate(tmp_path / "a", seed=31)
    planted = _rows(tmp_path / "a" / "planted.jsonl")
    causes = Counter(p["cause"] for p in planted if p["cause"])
    assert causes == {"renamed-column": 22, "fiscal-quarter": 13, "join-fanout": 9, "stale-fx": 6, "row-limit": 2}
    assert {p["account"] for p in planted if p["cause"] == "stale-fx"} == {"nordhavn"}
    noise = [p for p in planted if p["noise"] is not None]
    assert len(noise) == 19 and len({p["noise"] for p in noise}) == 19  # each causeless failure its own problem
    failed = [p for p in planted if p["cause"] or p["noise"] is not None]
    assert {p["style"] for p in failed if p["cause"]} == set(STYLE_NAMES)
    assert {p["style"] for p in noise} == set(STYLE_NAMES)  # noise is written in every style too
    analyses = {a["id"]: a for a in _rows(tmp_path / "a" / "templated.jsonl")}
    assert len(analyses) == len(failed)
    french = [analyses[p["id"]] for p in failed if p["style"] == "french"]
    assert all(str(a["failure_mode"]).startswith("constat:") for a in french)
    cause_rows = [(p, analyses[p["id"]]) for p in failed if p["cause"]]
    usual = [a["stage"] == CAUSES[p["cause"]]["stage"] for p, a in cause_rows]
    filed = [bool(a["suspected"]) and a["suspected"][0]["path"] == CAUSES[p["cause"]]["file"] for p, a in cause_rows]
    assert 0.5 < sum(usual) / len(usual) < 0.95 and 0.5 < sum(filed) / len(filed) < 0.95  # sometimes off
    assert any(not a["suspected"] for a in analyses.values())  # sometimes missing
    generate(tmp_path / "b", seed=31)
    for name in ("manifest.jsonl", "planted.jsonl", "templated.jsonl"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_imports_and_takes_its_analyses(tmp_path: Path) -> None:
    generate(tmp_path / "src", seed=32, count=40)
    import_backtest(tmp_path / "src" / "manifest.jsonl", tmp_path / "bt")
    written = support_generator().write_analyses(tmp_path / "bt", tmp_path / "src" / "templated.jsonl")
    invs = BacktestFolder(tmp_path / "bt").investigations()
    assert written == sum(1 for i in invs if not i.correct) > 0
    assert all(i.analysis() is not None for i in invs if not i.correct)
    assert any("warehouse.query" in p.name for i in invs for p in (i.path / "trace").rglob("*"))


def test_noisy_traces_change_only_the_traces(tmp_path: Path) -> None:
    """With noisy traces the plant and the analyses are the same bytes; traces of runs that went right
    record a retried timeout too, and the totals check flags failures of several causes alike."""
    generate(tmp_path / "plain", seed=33)
    generate(tmp_path / "noisy", seed=33, noisy_traces=True)
    for name in ("manifest.jsonl", "planted.jsonl", "templated.jsonl", "quoting.jsonl"):
        assert (tmp_path / "plain" / name).read_bytes() == (tmp_path / "noisy" / name).read_bytes()
    planted = _rows(tmp_path / "noisy" / "planted.jsonl")
    text = {p["id"]: (tmp_path / "noisy" / "traces" / f"{p['id']}.json").read_text() for p in planted}
    assert any(TRANSIENT in text[p["id"]] for p in planted if p["cause"] is None and p["noise"] is None)
    flagged = {p["cause"] for p in planted if "ledger check" in text[p["id"]]}
    assert SYMPTOM_CAUSES <= flagged and None in flagged
    quoted = {a["id"]: a for a in _rows(tmp_path / "noisy" / "quoting.jsonl")}
    assert all(a["failure_mode"].startswith(a["error_signature"] or "Reviewer note:") for a in quoted.values())


def test_a_harmless_first_error_changes_only_the_traces_and_the_quotes(tmp_path: Path) -> None:
    """The retried pool timeout (POOL_TIMEOUT) is drawn from a stream of its own: without it the plant, the
    manifest and the templated analyses are the same bytes. Runs that went right record it as well as
    failures, and the quoting analysts quote it as the run's first error, causeless failures' included."""
    generate(tmp_path / "with", seed=34)
    generate(tmp_path / "without", seed=34, harmless=False)
    for name in ("manifest.jsonl", "planted.jsonl", "templated.jsonl"):
        assert (tmp_path / "with" / name).read_bytes() == (tmp_path / "without" / name).read_bytes()
    planted = {p["id"]: p for p in _rows(tmp_path / "with" / "planted.jsonl")}
    hit = {i for i in planted if POOL_TIMEOUT in (tmp_path / "with" / "traces" / f"{i}.json").read_text()}
    assert not any(POOL_TIMEOUT in p.read_text() for p in (tmp_path / "without" / "traces").iterdir())
    passing = [i for i, p in planted.items() if p["cause"] is None and p["noise"] is None]
    assert 0.2 < len(hit & set(passing)) / len(passing) < 0.5
    quoted = {a["id"]: a["error_signature"] for a in _rows(tmp_path / "with" / "quoting.jsonl")}
    assert all((quoted[i] == POOL_TIMEOUT) == (i in hit) for i in quoted)
    assert any(quoted[i] == POOL_TIMEOUT for i, p in planted.items() if p["noise"] is not None)


def test_benign_content_changes_only_the_traces_answers_and_the_analyses_describing_it(tmp_path: Path) -> None:
    """The benign content (BENIGN: a result-cache note, a default timezone) is drawn from a stream of its
    own: without it the plant is the same and every analysis not describing it is the same bytes. Runs
    that went right carry it as well as failures; causeless failures' analysts describe it wherever
    their trace carries it, in several wordings, quoting and templated analysts alike."""
    generate(tmp_path / "with", seed=35)
    generate(tmp_path / "without", seed=35, benign=False)
    planted = _rows(tmp_path / "with" / "planted.jsonl")
    assert [{k: v for k, v in p.items() if k != "observed"} for p in planted] == _rows(tmp_path / "without" / "planted.jsonl")
    observed = {p["id"]: p["observed"] for p in planted if p.get("observed")}
    for kind in ("templated", "quoting"):
        with_, without = _rows(tmp_path / "with" / f"{kind}.jsonl"), _rows(tmp_path / "without" / f"{kind}.jsonl")
        assert [a for a in with_ if a["id"] not in observed] == [a for a in without if a["id"] not in observed]
        assert all(a["failure_mode"] != b["failure_mode"] for a, b in zip(with_, without, strict=True) if a["id"] in observed)
    quoting = {a["id"]: a for a in _rows(tmp_path / "with" / "quoting.jsonl")}
    assert all(text in quoting[i]["failure_mode"] for i, text in observed.items())
    right = [p["id"] for p in planted if p["cause"] is None and p["noise"] is None]
    text = {i: (tmp_path / "with" / "traces" / f"{i}.json").read_text() for i in right}
    assert sum(CACHE_RESULT["note"] in t for t in text.values()) >= len(right) // 4
    assert sum("timezone (UTC)" in t for t in text.values()) >= len(right) // 4
    causeless = [p for p in planted if p["cause"] is None and p["noise"] is not None]
    assert len({p["observed"] for p in causeless if p["observed"]}) >= 4
    assert sum(1 for p in causeless if p["observed"]) >= len(causeless) // 3
