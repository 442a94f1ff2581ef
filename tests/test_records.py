"""agentbook.records: the slotted records of the start-up path behave as the dataclasses they replace."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import pytest

from agentbook.confine import Confinement
from agentbook.evals.rows import CaseSpan, SuiteIndex
from agentbook.secretscan import SecretHit


def test_frozen_records_compare_hash_and_refuse_assignment() -> None:
    a, b = Confinement(Path("/r"), "m"), Confinement(Path("/r"), "m")
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != Confinement(Path("/r")) and a != ("/r", "m")
    with pytest.raises(AttributeError, match="frozen"):
        a.model = "other"  # type: ignore[misc]
    assert repr(SecretHit("f.txt", 3, "TOKEN")) == "SecretHit(form='plain', line=3, path='f.txt', secret='TOKEN')"


def test_records_pickle_copy_and_replace() -> None:
    hit = SecretHit("f.txt", 3, "TOKEN")
    for clone in (pickle.loads(pickle.dumps(hit)), copy.copy(hit), copy.deepcopy(hit)):
        assert clone == hit and clone is not hit
    wide = hit.replace(form="plain, UTF-16/32")
    assert (wide.path, wide.line, wide.form, hit.form) == ("f.txt", 3, "plain, UTF-16/32", "plain")
    with pytest.raises(TypeError, match="no field 'nope'"):
        hit.replace(nope=1)
    index = SuiteIndex(10, 1, "", "inline", [], True, "", 2, 0, 10, [CaseSpan("a", True, 0, 0, 10, 1)])
    clone = pickle.loads(pickle.dumps(index))
    assert clone == index and clone.cases[0].asserts == [] and clone.cases[0].size == 10
    clone.cases[0].id = "b"  # mutable records stay mutable (the indexer assigns ids)
    assert clone != index
    with pytest.raises(TypeError):
        hash(index)
