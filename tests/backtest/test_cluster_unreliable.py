"""dev_parcel.py's unreliable analysts: the development set's analogue of the analysts the held-out notes describe
(confident ones who pin causeless failures on a cause's place, misblamers, hedgers weighing two causes, shorthand
in another language), so the clustering can be tuned on them without reading a held-out generator."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from .dev_parcel import CAUSE_PLACES, CAUSES, MANNERS, NOISE, SIBLING, generate


def _rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_dev_parcel_unreliable_analysts_plant_what_the_held_out_notes_describe(tmp_path: Path) -> None:
    """Four manners over causes and causeless failures alike; confident analysts pin causeless failures on a
    cause's place; misblamers name another place than the cause's; hedgers name the sibling cause too; and the
    stream of its own leaves the other analysts' files as they were (same seed, same bytes)."""
    generate(tmp_path / "a", seed=201)
    planted = {str(p["id"]): p for p in _rows(tmp_path / "a" / "planted.jsonl")}
    manners = json.loads((tmp_path / "a" / "manners.json").read_text())
    rows = {str(a["id"]): a for a in _rows(tmp_path / "a" / "unreliable.jsonl")}
    assert set(rows) == set(manners) == {i for i, p in planted.items() if p["cause"] or p["noise"] is not None}
    assert set(Counter(manners.values())) == set(MANNERS)
    causeless = [i for i in rows if planted[i]["cause"] is None]
    assert {manners[i] for i in causeless} == set(MANNERS)

    def place(a: dict[str, object]) -> tuple[str, str]:
        return str(a["stage"]), str(a["suspected"][0]["path"])  # type: ignore[index]

    confident = [i for i in causeless if manners[i] == "confident"]
    assert confident and all(place(rows[i]) in CAUSE_PLACES for i in confident)
    assert all(place(rows[i]) != (NOISE[int(planted[i]["noise"])][0], NOISE[int(planted[i]["noise"])][1])  # type: ignore[call-overload]
               for i in confident)
    assert all(float(rows[i]["confidence"]) >= 0.9 for i in confident)  # type: ignore[arg-type]
    caused = [i for i in rows if planted[i]["cause"]]
    for i in (i for i in caused if manners[i] == "misblame"):
        spec = CAUSES[str(planted[i]["cause"])]
        assert place(rows[i]) != (spec["stage"], spec["file"])
    hedges = [i for i in caused if manners[i] == "hedge"]
    assert hedges and all(str(rows[i]["failure_mode"]).startswith("Two candidates: either ") for i in hedges)
    sibling_words = [any(w in str(rows[i]["failure_mode"]) for w in CAUSES[SIBLING[str(planted[i]["cause"])]]["en"])
                     for i in hedges]
    assert all(sibling_words)
    generate(tmp_path / "b", seed=201)
    for name in ("manifest.jsonl", "planted.jsonl", "templated.jsonl", "framed.jsonl", "unreliable.jsonl"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
