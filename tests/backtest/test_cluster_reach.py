"""A group's member that no core holds stays only where a second signal vouches for it (cluster.within_reach):
its words reach a core of the group, its trace carries the core's mark, or its stage and file are a cored
member's. Average linkage holds a failure in a group by its mean similarity to all the members, so framing the
members share ("Reviewer note: ...", "I read file X; the reviewer wrote: ...") held causeless failures in cause
cohorts. Developed on dev_ledger.py's quoting analysts and dev_parcel.py's framed one; the unreliable analysts
(dev_parcel.py: confident, misblaming, hedging, German shorthand) are the development set's analogue of what
the held-out notes describe."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from agentbook.backtest import cluster
from agentbook.backtest.cluster import CORE_REACH, within_reach
from agentbook.backtest.importer import import_backtest
from agentbook.backtest.quality import Quality, score

from .dev_ledger import generate as generate_ledger
from .dev_parcel import generate as generate_parcel
from .support import analysed, clustered_quality, support_generator


def _rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _group() -> tuple[np.ndarray, list[tuple[str, str]]]:
    """Rows 0-2 a core (similarity 0.8 among them); 3 as unlike it as framing leaves a causeless failure; 4 a
    paraphrase of the cause that reaches the core; 5 its words as far as 3's but its stage and file the core's."""
    sim = np.full((6, 6), 0.3)
    sim[:3, :3] = 0.8
    sim[3, :3] = sim[:3, 3] = sim[5, :3] = sim[:3, 5] = 0.1  # under CORE_REACH * 0.8
    sim[4, :3] = sim[:3, 4] = CORE_REACH * 0.8 + 0.01
    np.fill_diagonal(sim, 1.0)
    places = [("tool-execution", "carrier.ts")] * 3 + [("answer", "answer.md"), ("planning", "loop.ts"),
                                                        ("tool-execution", "carrier.ts")]
    return sim, places


def test_a_member_no_core_holds_stays_only_where_a_second_signal_vouches_for_it() -> None:
    sim, places = _group()
    core_of = {0: 7, 1: 7, 2: 7, 3: 8}  # 3 is in a core of its own, outside the group: not one of the group's
    rows = list(range(6))
    assert within_reach(rows, core_of, sim, None, places) == [0, 1, 2, 4, 5]
    marked = np.zeros((8, 2), dtype=bool)  # two more failures outside the group (rows 6, 7)
    marked[[0, 1, 3], 0] = True  # a mark two of the three cored members carry, and 3; none outside
    assert within_reach(rows, core_of, sim, marked, places) == [0, 1, 2, 3, 4, 5]
    marked[[6, 7], 0] = True  # as common outside the group as in its core: no mark of this cause
    assert within_reach(rows, core_of, sim, marked, places) == [0, 1, 2, 4, 5]
    # two cores in one group: a member reaching either stays
    core_of = {0: 7, 1: 7, 4: 9, 5: 9}
    sim[4, 5] = sim[5, 4] = 0.9
    sim[2, 4:6] = sim[4:6, 2] = 0.5
    assert within_reach(rows, core_of, sim, None, places) == [0, 1, 2, 4, 5]


def _score(root: Path, kind: str) -> Quality:
    return clustered_quality(root, kind)


@pytest.mark.usefixtures("default_meaning")
def test_causeless_failures_framing_holds_leave_the_cause_cohorts(tmp_path: Path) -> None:
    """dev_ledger.py seed 32, quoting analysts, the default clustering: six causeless failures whose analysts
    quote the reviewer's note ("Reviewer note: ...", beside benign content the trace shows) sat in
    fiscal-quarter's cohort, three more beside stale-fx's pair. Before: causeless kept out 0.53, min purity of a
    cause's cohort 0.50, ARI 0.741; with the test 1.00, 1.00, 0.896 (with the marked bridge, BRIDGE_MARKED; floors
    below the measured figures). dev_parcel.py seed 202, the framed analyst: twelve causeless failures with return-window's; kept out
    0.33 -> 0.89, ARI 0.497 -> 0.605."""
    src, folder = tmp_path / "ledger-src", tmp_path / "ledger"
    generate_ledger(src, seed=32)
    import_backtest(src / "manifest.jsonl", folder)
    support_generator().write_analyses(folder, src / "quoting.jsonl")
    from agentbook.backtest.cohorts import cluster_backtest

    summary = cluster_backtest(str(folder), seed=0)
    planted = {str(r["id"]): r["cause"] for r in _rows(src / "planted.jsonl")}
    failed = {str(r["id"]) for r in _rows(src / "quoting.jsonl")}
    q = score([c["members"] for c in summary.cohorts], {i: planted[i] for i in failed})  # type: ignore[misc]
    main = q.main_causes()
    assert q.causeless_kept_out is not None and q.causeless_kept_out >= 0.9, q.to_json()
    assert min(q.cause_purity[c] for c in main) >= 0.9 and q.ari >= 0.8, q.to_json()
    framed = _score(analysed(tmp_path / "parcel", generate_parcel, 202, ("framed",)), "framed")
    assert framed.causeless_kept_out is not None and framed.causeless_kept_out >= 0.8, framed.to_json()
    assert framed.ari >= 0.58, framed.to_json()


@pytest.mark.usefixtures("default_meaning")
def test_without_the_test_framing_holds_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same framed backtest with the test off (CORE_REACH 0): the causeless failures stay in a cause cohort,
    so the figures above are the test's."""
    monkeypatch.setattr(cluster, "CORE_REACH", 0.0)
    framed = _score(analysed(tmp_path / "parcel", generate_parcel, 202, ("framed",)), "framed")
    assert framed.causeless_kept_out is not None and framed.causeless_kept_out < 0.5, framed.to_json()
