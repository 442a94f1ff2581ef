"""Deterministic token counting and prompt-caching emulation for the stand-in.

A request is read as the API reads it for caching: tools, then system blocks, then each message's
content blocks, in order. A block carrying `cache_control` is a breakpoint; the prefix up to it can be
written to the cache and read back by a later request whose blocks start the same way. Prefix hashes
ignore the `cache_control` markers themselves, so a breakpoint that moves forward in a growing
conversation still hits the prefix written by the previous turn.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

MESSAGE_OVERHEAD = 3  # tokens per message for the role and framing
MAX_BREAKPOINTS = 4
LOOKBACK_BLOCKS = 20  # a breakpoint finds earlier cache entries at most this many blocks back
TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}


def count_text(text: str) -> int:
    """About four UTF-8 bytes per token, at least one token for non-empty text: cheap and stable."""
    n = len(text.encode("utf-8"))
    return (n + 3) // 4 if n else 0


def _canonical(block: Any) -> str:
    if isinstance(block, dict):
        block = {k: v for k, v in block.items() if k != "cache_control"}
    return json.dumps(block, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@dataclass
class Segment:
    tokens: int
    digest: bytes  # hash of every segment up to and including this one
    ttl: str | None  # "5m" / "1h" when this block is a cache breakpoint


def block_tokens(block: Any) -> int:
    if isinstance(block, str):
        return count_text(block)
    if not isinstance(block, dict):
        return count_text(json.dumps(block))
    kind = block.get("type")
    if kind == "text":
        return count_text(str(block.get("text", "")))
    if kind == "thinking":
        return count_text(str(block.get("thinking", "")))
    if kind == "tool_use":
        return count_text(str(block.get("name", ""))) + count_text(json.dumps(block.get("input", {})))
    if kind == "tool_result":
        content = block.get("content", "")
        inner = [content] if isinstance(content, str) else list(content or [])
        return 2 + sum(block_tokens(b) for b in inner)
    return count_text(_canonical(block))


def segments(request: dict[str, Any]) -> list[Segment]:
    """The request as an ordered list of cacheable blocks with running prefix hashes."""
    out: list[Segment] = []
    h = hashlib.sha256(str(request.get("model", "")).encode())
    auto_ttl = _ttl(request.get("cache_control"))

    def add(block: Any, tokens: int) -> None:
        h.update(_canonical(block).encode())
        ttl = _ttl(block.get("cache_control")) if isinstance(block, dict) else None
        out.append(Segment(tokens, h.copy().digest(), ttl))

    for tool in request.get("tools") or []:
        add(tool, count_text(_canonical(tool)))
    system = request.get("system")
    if isinstance(system, str) and system:
        add({"type": "text", "text": system}, count_text(system))
    elif isinstance(system, list):
        for block in system:
            add(block, block_tokens(block))
    for message in request.get("messages") or []:
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else list(content or [])
        for i, block in enumerate(blocks):
            extra = MESSAGE_OVERHEAD if i == 0 else 0
            add({"role": message.get("role"), **block} if isinstance(block, dict) else block,
                block_tokens(block) + extra)
    if auto_ttl and out and out[-1].ttl is None:
        # top-level cache_control: automatic breakpoint on the last block
        out[-1].ttl = auto_ttl
    return out


def _ttl(cache_control: Any) -> str | None:
    if isinstance(cache_control, dict) and cache_control.get("type") == "ephemeral":
        return str(cache_control.get("ttl") or "5m")
    return None


def count_input(request: dict[str, Any]) -> int:
    return sum(s.tokens for s in segments(request))


@dataclass
class CacheUsage:
    input_tokens: int
    cache_read_input_tokens: int
    cache_creation_input_tokens: int
    ephemeral_5m_input_tokens: int
    ephemeral_1h_input_tokens: int

    def to_usage(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "cache_creation": {"ephemeral_5m_input_tokens": self.ephemeral_5m_input_tokens,
                               "ephemeral_1h_input_tokens": self.ephemeral_1h_input_tokens},
        }


class PromptCache:
    """The prefixes written so far (digest -> expiry), shared by every request to one server."""

    def __init__(self, min_tokens: int = 0) -> None:
        self.min_tokens = min_tokens
        self._entries: dict[bytes, tuple[float, float]] = {}  # digest -> (expires_at, ttl seconds)
        self._lock = threading.Lock()

    def account(self, request: dict[str, Any], *, write: bool = True) -> CacheUsage:
        segs = segments(request)
        total = sum(s.tokens for s in segs)
        breakpoints = [i for i, s in enumerate(segs) if s.ttl][-MAX_BREAKPOINTS:]
        if not breakpoints:
            return CacheUsage(total, 0, 0, 0, 0)
        now = time.monotonic()
        with self._lock:
            hit = self._longest_hit(segs, breakpoints, now)
            read = sum(s.tokens for s in segs[: hit + 1]) if hit >= 0 else 0
            created = {"5m": 0, "1h": 0}
            start = hit + 1
            for bp in breakpoints:
                if bp < start:
                    continue
                prefix = sum(s.tokens for s in segs[: bp + 1])
                if prefix < self.min_tokens:
                    continue
                ttl = segs[bp].ttl or "5m"
                created[ttl if ttl in created else "5m"] += sum(s.tokens for s in segs[start: bp + 1])
                if write:
                    seconds = TTL_SECONDS.get(ttl, 300.0)
                    self._entries[segs[bp].digest] = (now + seconds, seconds)
                start = bp + 1
        creation = created["5m"] + created["1h"]
        return CacheUsage(total - read - creation, read, creation, created["5m"], created["1h"])

    def _longest_hit(self, segs: list[Segment], breakpoints: list[int], now: float) -> int:
        """Index of the last block of the longest cached prefix (refreshing its TTL), or -1. Like the
        API, only boundaries up to LOOKBACK_BLOCKS blocks before a breakpoint are checked."""
        candidates = sorted({i for bp in breakpoints for i in range(max(0, bp - LOOKBACK_BLOCKS + 1), bp + 1)},
                            reverse=True)
        for i in candidates:
            entry = self._entries.get(segs[i].digest)
            if entry is None:
                continue
            expires, seconds = entry
            if expires < now:
                del self._entries[segs[i].digest]
                continue
            self._entries[segs[i].digest] = (now + seconds, seconds)
            return i
        return -1
