"""What the trace did as evidence (tracecalls.py): each failure's calls and the identifiers their arguments
name, kept only where failures carry them clearly more often than passing runs (features.call_enriched).
Developed on dev_ledger.py, whose fiscal-quarter and join-fanout causes leave no error in the trace."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from bench.loader import load_module

from agentbook.backtest import cluster
from agentbook.backtest.cluster import by_marks, cluster_labels, collect_failures, passing_traces
from agentbook.backtest.features import CALL_SUPPORT, already_written, call_enriched
from agentbook.backtest.folder import BacktestFolder
from agentbook.backtest.importer import import_backtest
from agentbook.backtest.quality import cohorts_of, score
from agentbook.backtest.tracecalls import SAID_TERMS, TOOL_SPANS, argument_identifiers, call_terms

from .dev_ledger import generate

REPO = Path(__file__).resolve().parents[2]


def _dev(tmp: Path, seed: int = 32, count: int = 160) -> tuple[Path, dict[str, str | None]]:
    src, folder = tmp / "src", tmp / "bt"
    generate(src, seed=seed, count=count)
    import_backtest(src / "manifest.jsonl", folder)
    load_module(REPO / "examples" / "support-agent" / "generate.py", "calls_support").write_analyses(
        folder, src / "templated.jsonl")
    truth = {r["id"]: r["cause"] for r in map(json.loads, (src / "planted.jsonl").read_text().splitlines())}
    return folder, truth


def test_argument_identifiers_leave_out_data_numbers_and_quoted_values() -> None:
    args = json.dumps({"sql": "SELECT SUM(i.amount) FROM invoices i WHERE i.account = 'nordhavn' AND i.year = 2025",
                       "limit": 1000, "run_id": "7f3a9c2e11", "path": "src/billing/fx_cache.py"})
    assert argument_identifiers(args) == ["sql", "select", "sum", "i.amount", "from", "invoices", "where",
                                          "i.account", "and", "i.year", "limit", "run_id", "path",
                                          "src/billing/fx_cache.py"]
    # not JSON (a plain command line, or JSON cut at ARGS_BYTES): the text as it is, quoted literals left out
    assert argument_identifiers("git log --oneline src/app.py 'fix the bug'") == ["git", "log", "oneline", "src/app.py"]


def test_call_terms_of_an_exported_trace(tmp_path: Path) -> None:
    folder, truth = _dev(tmp_path, count=40)
    inv = next(i for i in BacktestFolder(folder).iter_investigations() if truth[i.id] == "renamed-column")
    terms = call_terms(inv.path)
    assert terms[:3] == ["call_agent_invoke_agent_ledgerlens", "call_llm_chat_write_sql",
                         "call_tool_execute_tool_warehouse.query"]
    assert "arg_i.amount" in terms and "arg_i.amount_net" not in terms
    assert not any(inv.account in t for t in terms)  # the quoted account is the run's data
    assert call_terms(tmp_path / "nothing-here") == []


def test_call_terms_stay_inside_the_trace(tmp_path: Path) -> None:
    """index.tsv is written by whoever wrote the trace: a folder it names is read only if it is a plain
    folder inside the trace, reached without a symlink, and args.json only if it is a regular file."""
    outside = tmp_path / "outside" / "tool"
    outside.mkdir(parents=True)
    (outside / "args.json").write_text('{"secret_token": "x"}')
    trace = tmp_path / "inv" / "trace"
    (trace / "001-tool-a" / "tool").mkdir(parents=True)
    (trace / "001-tool-a" / "tool" / "args.json").write_text('{"ok_arg": "x"}')
    os.symlink(tmp_path / "outside", trace / "002-tool-b")
    (trace / "003-tool-c" / "tool").mkdir(parents=True)
    os.symlink(outside / "args.json", trace / "003-tool-c" / "tool" / "args.json")
    (trace / "004-tool-d" / "tool").mkdir(parents=True)
    os.mkfifo(trace / "004-tool-d" / "tool" / "args.json")  # never waited on
    rows = ["001-tool-a/", "002-tool-b/", "003-tool-c/", "004-tool-d/", "../../outside/", "/abs/"]
    (trace / "index.tsv").write_text("path\tkind\tname\tstatus\n" + "".join(f"{r}\ttool\tt\tok\n" for r in rows)
                                     + "005-tool-e/\ttool\tGET /users/8812\tok\n")  # the id is masked
    assert call_terms(tmp_path / "inv") == ["call_tool_t", "arg_ok_arg", "call_tool_get_users_n"]


def test_tool_spans_read_are_bounded(tmp_path: Path) -> None:
    trace = tmp_path / "inv" / "trace"
    rows = []
    for n in range(TOOL_SPANS + 5):
        (trace / f"{n:03d}-tool-x" / "tool").mkdir(parents=True)
        word = "".join(chr(ord("a") + int(c)) for c in f"{n:03d}")
        (trace / f"{n:03d}-tool-x" / "tool" / "args.json").write_text(json.dumps({"arg": f"name_{word}"}))
        rows.append(f"{n:03d}-tool-x/\ttool\tx\tok\n")
    (trace / "index.tsv").write_text("path\tkind\tname\tstatus\n" + "".join(rows))
    args = [t for t in call_terms(tmp_path / "inv") if t.startswith("arg_name_")]
    assert len(args) == TOOL_SPANS


def test_call_enriched_is_a_corrected_fisher_test() -> None:
    # 72 failures, 88 passing runs: a cause's 9 failures carry a join no passing run has (p ~ 6e-4);
    # a term every run has, one passing runs have as often, and one below the support are not kept
    kept = call_enriched(np.array([9, 72, 20, CALL_SUPPORT - 1, 22]), np.array([0, 88, 24, 0, 0]), 72, 88)
    assert kept.tolist() == [True, False, False, False, True]
    assert not call_enriched(np.array([9]), np.array([0]), 72, 0).any()  # no passing run: nothing to tell apart
    # the correction: one such term alone is kept; among 200 tested terms that fail the test, it is not
    lone = call_enriched(np.array([5]), np.array([0]), 72, 88)
    crowd = call_enriched(np.array([5] + [30] * 199), np.array([0] + [36] * 199), 72, 88)
    assert lone.tolist() == [True] and not crowd[0]


def test_passing_runs_tell_which_calls_count(tmp_path: Path) -> None:
    folder, truth = _dev(tmp_path)
    failures, _ = collect_failures(BacktestFolder(folder))
    passing = passing_traces(failures, errors=False, calls=True)
    assert len(passing) == 160 - len(failures) and all("trace:call_llm_chat_write_sql" in p for p in passing)
    labels = cluster_labels(failures, calls=True, meaning=False)
    q = score(cohorts_of(failures, labels), {f.inv.id: truth[f.inv.id] for f in failures})
    plain = score(cohorts_of(failures, cluster_labels(failures, meaning=False)), {f.inv.id: truth[f.inv.id] for f in failures})
    print(f"\ndev-ledger seed 32, words: calls {q.to_json()}\nwithout: {plain.to_json()}")
    assert q.recall["join-fanout"] >= 0.8 and q.cause_purity["join-fanout"] >= 0.8


def test_an_error_the_analyst_quoted_is_not_counted_twice() -> None:
    """A word of the trace's errors weighs by the share of failures recording it whose analyst did not
    write it too; spans, calls and the analysts' own words are left as they are."""
    terms = ["column", "trace:column", "trace:span_tool_q", "trace:arg_i.amount", "trace:exist"]
    present = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0], [0, 1, 1, 1, 1], [0, 1, 1, 0, 0]], dtype=bool)
    assert already_written(present, terms).tolist() == [1.0, 0.5, 1.0, 1.0, 1.0]


def test_quoting_analysts_keep_a_cause_whose_error_is_worded_four_ways(tmp_path: Path) -> None:
    """dev_ledger.py's renamed-column: each run's database driver words the missing column its own way
    and the quoting analyst copies it; counted again from the trace, TRACE_WEIGHT times, the wording
    split the cause (recall 0.73 on words, seed 31) though every run's SQL names `i.amount`."""
    src, folder = tmp_path / "src", tmp_path / "bt"
    generate(src, seed=31)
    import_backtest(src / "manifest.jsonl", folder)
    load_module(REPO / "examples" / "support-agent" / "generate.py", "calls_support").write_analyses(
        folder, src / "quoting.jsonl")
    truth = {r["id"]: r["cause"] for r in map(json.loads, (src / "planted.jsonl").read_text().splitlines())}
    failures, _ = collect_failures(BacktestFolder(folder))
    labels = cluster_labels(failures, trace=True, calls=True, meaning=False)
    q = score(cohorts_of(failures, labels), {f.inv.id: truth[f.inv.id] for f in failures})
    print(f"\ndev-ledger seed 31 quoting, words, errors and calls: {q.to_json()}")
    assert q.recall["renamed-column"] == 1.0 and q.cause_purity["renamed-column"] == 1.0
    assert q.recall["join-fanout"] == 1.0 and q.ari >= 0.85


def test_calls_are_read_by_default(tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    """They held or helped on every development and held-out set (ARCHITECTURE.md); --no-trace-calls
    clusters on the analysts' words alone, and index.json says which ran."""
    folder, _ = _dev(tmp_path, count=60)
    for flags, read in (((), True), (("--no-trace-calls",), False)):
        result = run_cli("backtest", "cluster", folder, "--meaning", "none", "--json", *flags)
        assert result.code == 0, result.err
        assert json.loads(result.out)["trace_calls"] is read
        assert json.loads((folder / "cohorts" / "index.json").read_text())["trace_calls"] is read


def test_what_models_said_and_tools_returned(tmp_path: Path) -> None:
    """A model's words (output.md without the exporter's own lines, quoted passages and numbers left out)
    and a tool's result (identifiers, and each JSON flag with its key) are terms of their own."""
    trace = tmp_path / "inv" / "trace"
    (trace / "001-llm-chat" / "messages").mkdir(parents=True)
    (trace / "001-llm-chat" / "output.md").write_text(
        "# output of span llm chat answer\n\n1 message(s); the full text of each is in its file.\n\n"
        "- `messages/001-assistant.md` assistant, 70 chars: \"preview words\"\n\n## assistant\n\n"
        "The account's figures cover Q3 2025, July to September, per the \"Nordhavn Ltd\" ledger.\n\n"
        "finish reason: stop\n")
    (trace / "002-tool-q" / "tool").mkdir(parents=True)
    (trace / "002-tool-q" / "tool" / "args.json").write_text('{"sql": "SELECT 1"}')
    (trace / "002-tool-q" / "tool" / "result.txt").write_text(
        json.dumps({"row_count": 1000, "truncated": True, "rows": [{"customer": "nordhavn-7"}], "cached": False}))
    (trace / "index.tsv").write_text("path\tkind\tname\tstatus\n001-llm-chat/\tllm\tchat answer\tok\n"
                                     "002-tool-q/\ttool\tq\tok\n")
    terms = call_terms(tmp_path / "inv")
    said = [t for t in terms if t.startswith("said_")]
    got = [t for t in terms if t.startswith("got_")]
    assert said == ["said_account", "said_figures", "said_cover", "said_july", "said_september", "said_ledger"]
    assert got == ["got_row_count", "got_truncated", "got_rows", "got_customer", "got_cached", "got_truncated_true",
                   "got_cached_false"]
    assert [t for t in call_terms(tmp_path / "inv", outputs=False) if t.startswith(("said_", "got_"))] == []


def test_outputs_and_results_stay_inside_the_trace(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "tool").mkdir(parents=True)
    (outside / "output.md").write_text("secret words here\n")
    (outside / "tool" / "result.txt").write_text('{"secret_key": true}')
    trace = tmp_path / "inv" / "trace"
    trace.mkdir(parents=True)
    os.symlink(outside, trace / "001-llm-a", target_is_directory=True)
    (trace / "002-llm-b").mkdir()
    os.symlink(outside / "output.md", trace / "002-llm-b" / "output.md")
    (trace / "003-tool-c" / "tool").mkdir(parents=True)
    os.symlink(outside / "tool" / "result.txt", trace / "003-tool-c" / "tool" / "result.txt")
    rows = ["001-llm-a/\tllm", "002-llm-b/\tllm", "003-tool-c/\ttool", "../outside/\tllm"]
    (trace / "index.tsv").write_text("path\tkind\tname\tstatus\n" + "".join(f"{r}\tx\tok\n" for r in rows))
    assert not [t for t in call_terms(tmp_path / "inv") if t.startswith(("said_", "got_"))]


def test_words_of_outputs_are_bounded(tmp_path: Path) -> None:
    trace = tmp_path / "inv" / "trace"
    (trace / "001-llm-a").mkdir(parents=True)
    words = ["".join(chr(ord("a") + int(c)) for c in f"{n:04d}") + "zz" for n in range(3 * SAID_TERMS)]
    (trace / "001-llm-a" / "output.md").write_text(" ".join(words))
    (trace / "index.tsv").write_text("path\tkind\tname\tstatus\n001-llm-a/\tllm\tx\tok\n")
    said = [t for t in call_terms(tmp_path / "inv") if t.startswith("said_")]
    assert 0 < len(said) <= SAID_TERMS


def test_a_cause_only_a_model_output_records(tmp_path: Path) -> None:
    """dev_ledger.py's fiscal-quarter leaves no error and no mark in its SQL; in most of its runs the answer
    model says it summed a calendar quarter, which right runs never say: that word is kept (Fisher, BH) and
    binds the cause however its analysts word it."""
    folder, truth = _dev(tmp_path, seed=31)
    failures, _ = collect_failures(BacktestFolder(folder))
    labels = cluster_labels(failures, meaning=False)
    space_terms = passing_traces(failures, errors=False, calls=True)
    assert not any("trace:said_calendar" in p for p in space_terms)
    fiscal = [f for f in failures if truth[f.inv.id] == "fiscal-quarter"]
    assert sum("said_calendar" in call_terms(f.inv.path) for f in fiscal) >= len(fiscal) / 2
    q = score(cohorts_of(failures, labels), {f.inv.id: truth[f.inv.id] for f in failures})
    before = score(cohorts_of(failures, cluster_labels(failures, meaning=False, outputs=False)),
                   {f.inv.id: truth[f.inv.id] for f in failures})
    print(f"\ndev-ledger seed 31 templated, words: with outputs {q.to_json()}\nwithout: {before.to_json()}")
    assert q.recall["fiscal-quarter"] > before.recall["fiscal-quarter"]
    assert q.cause_purity["fiscal-quarter"] >= 0.8


def test_a_member_moves_to_the_group_whose_trace_mark_it_carries() -> None:
    """Group 0's mark is arg_a (all its members, at most 10% of the rest); group 1's is said_b. Row 4, filed
    with group 1 by its analyst's words, carries arg_a and not said_b: it moves. Row 5 carries both marks
    (stays); row 10, in the bucket, carries arg_a and is never pulled in; an analyst's word is no mark."""
    terms = ["trace:arg_a", "trace:said_b", "word"]
    rows = [[1, 0, 1], [1, 0, 1], [1, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 0], [0, 1, 0], [0, 1, 1], [0, 1, 0],
            [0, 1, 0], [1, 0, 1]] + [[0, 0, 1]] * 30
    matrix = np.array(rows, dtype=float)
    groups = [[0, 1, 2], [3, 4, 5, 6, 7, 8, 9]]
    assert by_marks(groups, matrix, terms) == [[0, 1, 2, 4], [3, 5, 6, 7, 8, 9]]
    assert by_marks(groups, matrix[:, 2:], terms[2:]) == groups


@pytest.mark.usefixtures("default_meaning")
def test_trace_marks_join_a_cause_its_analysts_split(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """dev_ledger.py seed 33, templated analysts: fiscal-quarter is two cohorts, one holding three
    renamed-column failures written alike; their SQL names i.amount (renamed-column's mark) and most
    fiscal failures' answer model says it summed a calendar quarter. Opt-in (cluster.TRACE_MARKS); the opt-in
    trace view (cluster.trace_view) binds these failures by their marks as well. Measured without the default
    test of a group's members no core holds (cluster.within_reach), which sends the three to the bucket and
    lets fiscal-quarter's two cohorts bridge (test_cluster_reach.py), where `by_marks` never looks."""
    monkeypatch.setattr(cluster, "CORE_REACH", 0.0)
    folder, truth = _dev(tmp_path, seed=33)
    failures, _ = collect_failures(BacktestFolder(folder))
    t = {f.inv.id: truth[f.inv.id] for f in failures}
    before = score(cohorts_of(failures, cluster_labels(failures, traced=False)), t)
    after = score(cohorts_of(failures, cluster_labels(failures, traced=False, marks=True)), t)
    print(f"\ndev-ledger seed 33 templated: without marks {before.to_json()}\nwith marks {after.to_json()}")
    assert after.recall["renamed-column"] > before.recall["renamed-column"]
    assert all(after.cause_purity[c] >= 0.9 for c in after.main_causes())
    assert after.causeless_kept_out == before.causeless_kept_out
    viewed = score(cohorts_of(failures, cluster_labels(failures, traced=True)), t)
    assert viewed.recall["renamed-column"] >= after.recall["renamed-column"] and viewed.ari >= after.ari
