"""The meaning encoders (backtest/embeddings.py) and `backtest cluster --meaning`: the real models, checked
against their pins and loaded, the choice recorded in index.json, and a clear error (no traceback) when a
chosen encoder cannot be used.

The encoders are installed by `make test` (the Makefile's `meaning` target, from PyPI). Where one could
not be installed the tests that need it skip and say so; the rest run everywhere."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agentbook.backtest import embeddings
from agentbook.backtest.importer import import_backtest
from agentbook.cli import main
from agentbook.cli.backtest_cmd import MEANING_CHOICES

from .support import support_generator

LOADED = embeddings.models()
ENCODER, TABLE = LOADED[embeddings.MINILM], LOADED[embeddings.WORDLLAMA]
needs_encoder = pytest.mark.skipif(isinstance(ENCODER, str), reason=f"MiniLM is not usable here: {ENCODER}")
needs_table = pytest.mark.skipif(isinstance(TABLE, str), reason=f"WordLlama is not usable here: {TABLE}")


def test_the_cli_offers_every_encoder() -> None:
    assert MEANING_CHOICES == embeddings.CHOICES
    assert embeddings.DEFAULT in embeddings.ENCODERS


def _cosine(model: embeddings.Model, a: str, b: str) -> float:
    va, vb = model.embed([a, b])
    return float(va @ vb)


@needs_encoder
@needs_table
def test_wordings_of_one_failure_are_nearer_than_two_failures() -> None:
    """What words cannot do: these share no content word, yet mean one thing (both models)."""
    for model in (ENCODER, TABLE):
        assert not isinstance(model, str)
        same = _cosine(model, "the CRM lookup timed out", "deadline exceeded waiting for the customer record service")
        other = _cosine(model, "the CRM lookup timed out", "the refund article quoted was archived last year")
        assert same > other + 0.1, (model, same, other)
        rows = model.embed(["pip could not resolve the pinned versions", "", "poetry version solving failed"])
        assert not rows[1].any()  # a blank text is a zero row, not NaN
        assert abs(float(rows[0] @ rows[0]) - 1) < 1e-5


@needs_encoder
def test_framing_every_finding_repeats_weighs_nothing() -> None:
    """A sentence every text has says nothing about which failure is which: a text's vector is then its
    own sentence's, exactly, whatever the framing, and does not depend on the order or the batch."""
    assert isinstance(ENCODER, embeddings.SentenceEncoder)
    frame = "The agent went on and replied without what that call should have returned."
    own = ["The CRM lookup timed out.", "Poetry could not solve the version constraints."]
    framed = ENCODER.embed([f"{frame} {own[0]}", f"{own[1]} {frame}"])
    alone = embeddings.load(embeddings.MINILM)  # a fresh encoder: nothing kept from the call above
    assert isinstance(alone, embeddings.SentenceEncoder)
    plain = alone.embed([own[1], own[0], "Something else entirely."])
    # equal up to float rounding of the weights (log 2 here, log 3 there) that unit length divides out
    assert np.allclose(framed[0], plain[1], atol=1e-6) and np.allclose(framed[1], plain[0], atol=1e-6)
    again = ENCODER.embed([f"{own[1]} {frame}", f"{frame} {own[0]}"])
    assert (again[0] == framed[1]).all() and (again[1] == framed[0]).all()  # kept vectors, bit for bit


def test_the_shipped_vocabulary_is_the_models_own(tmp_path: Path) -> None:
    """MiniLM's WordPiece vocabulary ships with agentbook, pinned to the model's vocab.txt; an altered copy
    is refused."""
    vocab = embeddings.minilm_vocab()
    assert len(vocab) == 30522 and vocab["[CLS]"] == 101 and vocab["[SEP]"] == 102 and vocab["time"] > 0
    altered = tmp_path / "vocab.txt.gz"
    text = gzip.decompress((embeddings.DATA / embeddings.VOCAB[0]).read_bytes())
    altered.write_bytes(gzip.compress(text.replace(b"\ntime\n", b"\ntimes\n", 1)))
    with pytest.raises(embeddings.Unavailable, match="does not match its pinned SHA-256"):
        embeddings.minilm_vocab(altered)
    altered.write_bytes(b"not gzip")
    with pytest.raises(embeddings.Unavailable, match="could not be read"):
        embeddings.minilm_vocab(altered)


def _copy(tmp_path: Path, root: Path, files: tuple[tuple[str, str], ...]) -> Path:
    for rel, _ in files:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / rel, tmp_path / rel)
    return tmp_path


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("name", list(embeddings.ENCODERS))
def test_an_altered_or_missing_file_is_refused(tmp_path: Path, name: str) -> None:
    encoder = embeddings.ENCODERS[name]
    if isinstance(LOADED[name], str):
        pytest.skip(f"{name} is not usable here: {LOADED[name]}")
    root = _copy(tmp_path, embeddings.package_root(encoder.package.replace("-", "_")), encoder.files)
    assert not isinstance(embeddings.load_from(name, root), str)
    _flip_last_byte(root / encoder.files[0][0])
    with pytest.raises(embeddings.Unavailable, match="does not match its pinned SHA-256") as why:
        embeddings.load_from(name, root)
    assert encoder.version in str(why.value) and "not used" in str(why.value)
    (root / encoder.files[0][0]).unlink()
    with pytest.raises(embeddings.Unavailable, match=f"{encoder.package} is installed but"):
        embeddings.load_from(name, root)


def test_auto_without_the_default_is_words_only_and_says_why() -> None:
    """`auto` falls back to words (the summary says why); the same encoder chosen by name is an error."""
    hidden = embeddings.ENCODERS[embeddings.DEFAULT].package
    script = (f"import sys; sys.modules[{hidden!r}] = None\n"  # what importlib sees when it is not installed
              "from agentbook.backtest import embeddings\n"
              "model, meaning = embeddings.embedder('auto')\n"
              "print(model is None, meaning.used, meaning.encoder, meaning.note)\n"
              "try:\n"
              f"    embeddings.embedder({embeddings.DEFAULT!r})\n"
              "except embeddings.MeaningUnavailable as e:\n"
              "    print(e.exit_code, e)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    first, second = out.splitlines()
    assert first == f"True False none words only: {hidden} is not installed"  # cluster's output says how to install
    assert second.startswith(f"3 --meaning {embeddings.DEFAULT}: {hidden} is not installed")


@pytest.fixture(scope="module")
def backtest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The support agent's backtest, seed 12, with templated analyses."""
    tmp = tmp_path_factory.mktemp("meaning")
    src, folder = tmp / "src", tmp / "bt"
    gen = support_generator()
    gen.generate(src, seed=12)
    import_backtest(src / "manifest.jsonl", folder)
    gen.write_analyses(folder, src / "templated.jsonl")
    return folder


def _cluster_json(folder: Path, capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main(["backtest", "cluster", str(folder), *args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    index = json.loads((folder / "cohorts" / "index.json").read_text())
    assert index["meaning"] == out["meaning"]
    return dict(out["meaning"])


@pytest.mark.parametrize("name", list(embeddings.ENCODERS))
def test_cluster_records_the_chosen_encoder(backtest: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    if isinstance(LOADED[name], str):
        pytest.skip(f"{name} is not usable here: {LOADED[name]}")
    encoder = embeddings.ENCODERS[name]
    meaning = _cluster_json(backtest, capsys, "--meaning", name)
    assert meaning["used"] is True and meaning["encoder"] == name and meaning["chosen"] == name
    assert meaning["sha256"] == encoder.weights_sha256 and encoder.version in str(meaning["model"])
    assert encoder.weights_sha256 == embeddings.sha256_of(
        embeddings.package_root(encoder.package.replace("-", "_")) / encoder.files[0][0])


def test_the_report_says_how_it_was_clustered(backtest: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from agentbook.backtest.report import build_report

    meaning = _cluster_json(backtest, capsys, "--meaning", "none")
    build_report(str(backtest), charts=False)
    assert "Cohorts clustered on words only: meaning turned off.\n" in (backtest / "report.md").read_text()
    if isinstance(LOADED[embeddings.DEFAULT], str):
        return
    meaning = _cluster_json(backtest, capsys)
    build_report(str(backtest), charts=False)
    assert (f"Cohorts clustered on {meaning['note']} (weights SHA-256 {meaning['sha256']}, `--meaning auto`)."
            in (backtest / "report.md").read_text())


def test_cluster_meaning_none_and_auto(backtest: Path, capsys: pytest.CaptureFixture[str]) -> None:
    meaning = _cluster_json(backtest, capsys, "--meaning", "none")
    assert meaning == {"used": False, "note": "words only: meaning turned off", "encoder": "none", "chosen": "none",
                       "model": "", "sha256": ""}
    meaning = _cluster_json(backtest, capsys)
    assert meaning["chosen"] == "auto"
    assert meaning["encoder"] == (embeddings.DEFAULT if not isinstance(LOADED[embeddings.DEFAULT], str) else "none")


def test_a_chosen_encoder_that_is_not_installed_is_a_clear_error(backtest: Path) -> None:
    """Exit 3, the reason and how to install it, no traceback, and nothing written."""
    (backtest / "cohorts" / "index.json").unlink(missing_ok=True)
    hidden = embeddings.ENCODERS[embeddings.MINILM].package.replace("-", "_")
    script = (f"import sys; sys.modules[{hidden!r}] = None\n"
              "from agentbook.cli import main\n"
              f"sys.exit(main(['backtest', 'cluster', {str(backtest)!r}, '--meaning', 'minilm']))\n")
    run = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True,
                         env={**os.environ, "NO_COLOR": "1"})
    assert run.returncode == 3, run.stderr
    assert f"--meaning minilm: {hidden} is not installed" in run.stderr and "make meaning" in run.stderr
    assert run.stderr.count("make meaning") == 1, run.stderr  # the hint once, not in the message and again after it
    assert "Traceback" not in run.stderr + run.stdout
    assert not (backtest / "cohorts" / "index.json").exists()


def test_words_only_says_how_to_install_on_screen_and_nothing_of_it_in_the_files(backtest: Path) -> None:
    """The note `auto` leaves when the default encoder is not installed went into index.json and the
    report.md a pull request commits, install line and all: for a wheel's user that is the path of the
    wheel on their machine. The files say why; cluster's output says how to install, once."""
    (backtest / "cohorts" / "index.json").unlink(missing_ok=True)
    hidden = embeddings.ENCODERS[embeddings.DEFAULT].package
    script = (f"import sys; sys.modules[{hidden!r}] = None\n"
              "from agentbook.cli import main\n"
              f"code = main(['backtest', 'cluster', {str(backtest)!r}])\n"
              f"sys.exit(code or main(['backtest', 'report', {str(backtest)!r}, '--no-charts']))\n")
    run = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True,
                         env={**os.environ, "NO_COLOR": "1"})
    assert run.returncode == 0, run.stderr
    assert (f"clustered on words only: {hidden} is not installed (make meaning, or in agentbook's checkout: "
            ".venv/bin/python -m pip install -e '.[meaning]')") in run.stdout.splitlines()
    index = json.loads((backtest / "cohorts" / "index.json").read_text())
    assert index["meaning"]["note"] == f"words only: {hidden} is not installed"
    assert f"Cohorts clustered on words only: {hidden} is not installed.\n" in (backtest / "report.md").read_text()
