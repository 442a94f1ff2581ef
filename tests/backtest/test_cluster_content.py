"""Benign trace content analysts describe (features.content_cells, meaning_text): analysts of a failure with
no common cause describe what they saw the run do that runs which went right do as well (a cache that
answered, a default the model applied), and those words bound causeless failures to each other and to
causes. Developed on dev_ledger.py, whose runs, right or wrong, carry a result-cache note in the warehouse's
result and a default-timezone note in the answer model's words (BENIGN), which causeless failures' analysts
describe wherever their trace carries it and causes' analysts sometimes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from bench.loader import load_module

from agentbook.backtest import features
from agentbook.backtest.cohorts import cluster_backtest
from agentbook.backtest.features import content_cells, content_words, meaning_text, written_where_carried
from agentbook.backtest.importer import import_backtest
from agentbook.backtest.quality import score

from .dev_ledger import generate

REPO = Path(__file__).resolve().parents[2]


def test_content_words_name_identifiers_and_their_parts() -> None:
    words = content_words(["trace:got_served_from", "trace:said_timezone", "trace:arg_i.amount_net",
                           "trace:call_tool_warehouse_query", "trace:span_x", "trace:errclass_timeout"])
    assert {"trace:served_from", "trace:served", "trace:from", "trace:timezone", "trace:i.amount_net",
            "trace:amount", "trace:net", "trace:warehouse", "trace:query"} <= words
    assert "trace:x" not in words and "trace:timeout" not in words and "trace:i" not in words


def test_a_word_describing_common_trace_content_weighs_nothing_where_the_trace_carries_it() -> None:
    """Per failure: "cache", written where its trace carries a cache note as often as passing runs' do,
    weighs 0 there, and 1 in a failure whose trace does not carry it (a cause's stale FX cache); "april",
    which analysts write whether or not the trace says it, keeps its weight; a word every passing run
    carries (the system's own vocabulary) is left alone; a pair weighs no more than its words."""
    terms = ["cache", "result cache", "april", "warehouse", "stage_data"]
    note, months, tool = "trace:cache", "trace:april", "trace:warehouse"
    content = ([frozenset({note, tool})] * 12 + [frozenset({months, tool})] * 6
               + [frozenset({tool})] * 4 + [frozenset({tool, months})] * 18)
    written = np.zeros((40, len(terms)), dtype=bool)
    written[:10, [0, 1]] = True  # 10 of the 12 cache carriers describe it
    written[18:22, [0, 1]] = True  # 4 failures write "cache" of something else; their traces carry none
    written[[5, 13, 20, 24, 30, 35], 2] = True  # "april", whatever the trace said
    written[:, 3] = True
    passing = [frozenset({note, tool})] * 30 + [frozenset({months, tool})] * 30 + [frozenset({tool})] * 15
    cells = content_cells(written, terms, content, passing)
    assert cells[:10, 0].tolist() == [0.0] * 10 and cells[:10, 1].tolist() == [0.0] * 10
    assert cells[18:22, 0].tolist() == [1.0] * 4  # the same word, of another thing
    assert cells[:, 2].tolist() == [1.0] * 40 and cells[:, 3].tolist() == [1.0] * 40 and cells[:, 4].tolist() == [1.0] * 40
    carries = np.array([[note in c, months in c] for c in content], dtype=bool)
    assert written_where_carried(written[:, [0, 2]], carries).tolist() == [True, False]
    assert content_cells(written, terms, content, []).tolist() == np.ones(written.shape).tolist()


def test_meaning_reads_a_finding_less_its_clauses_describing_benign_content() -> None:
    text = ("Reviewer note: the median was reported where the user asked for the mean. "
            "The trace also shows dates were read in UTC, the workspace default.")
    assert meaning_text(text, frozenset({"utc", "default"})) == \
        "Reviewer note: the median was reported where the user asked for the mean.."
    assert meaning_text(text, frozenset({"utc"})) == text  # one word of it: a passing mention
    assert meaning_text(text, frozenset()) == text


def _quoting(tmp: Path, seed: int) -> tuple[Path, dict[str, dict[str, object]]]:
    src, folder = tmp / "src", tmp / "bt"
    generate(src, seed=seed)
    import_backtest(src / "manifest.jsonl", folder)
    load_module(REPO / "examples" / "support-agent" / "generate.py", "content_support").write_analyses(
        folder, src / "quoting.jsonl")
    planted = {r["id"]: r for r in map(json.loads, (src / "planted.jsonl").read_text().splitlines())}
    quoted = {r["id"] for r in map(json.loads, (src / "quoting.jsonl").read_text().splitlines())}
    return folder, {i: planted[i] for i in quoted}


@pytest.mark.usefixtures("default_meaning")
def test_benign_content_described_binds_no_causeless_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """dev_ledger.py seed 32, quoting analysts, the default clustering with the content weights: 10 of the
    19 causeless failures' analysts describe a cache note or the default timezone their trace carries; what
    they wrote and what it means bound 6 of them with 6 fiscal-quarter failures (causeless kept out 0.53,
    purity 0.82) until those words were weighed by passing runs' traces and their clauses left out of
    what the meaning model reads. The cohorts' evidence says what binds nothing."""
    monkeypatch.setattr(features, "CONTENT_CONTRAST", True)
    folder, truth = _quoting(tmp_path, 32)
    assert sum(1 for r in truth.values() if r["cause"] is None and r["observed"]) >= 8
    summary = cluster_backtest(str(folder), seed=0)
    q = score([c["members"] for c in summary.cohorts], {i: r["cause"] for i, r in truth.items()})  # type: ignore[misc]
    print(f"\ndev-ledger seed 32 quoting, content contrast: {q.to_json()}")
    assert q.causeless_kept_out is not None and q.causeless_kept_out >= 0.9, q.to_json()
    assert q.purity >= 0.95, q.to_json()
    unbound = {u["term"] for c in summary.cohorts for u in c["evidence"].get("unbound", [])}
    assert unbound & {"cache", "utc", "default", "timezone"}, unbound
