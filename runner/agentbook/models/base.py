"""The one model protocol every backend implements (DESIGN.md, Contracts).

Messages and content blocks are plain dicts in the Anthropic Messages wire format, so they go to the
SDK, into transcripts and back unchanged (thinking blocks included).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    # split of cache_creation_input_tokens by TTL when the server reports it
    cache_creation_5m: int = 0
    cache_creation_1h: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(*(getattr(self, f) + getattr(other, f) for f in self.__dataclass_fields__))

    @property
    def total_input(self) -> int:
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens

    def to_json(self) -> dict[str, int]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


@dataclass
class ModelRequest:
    messages: list[dict[str, Any]]
    system: str | list[dict[str, Any]] | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)
    max_tokens: int = 4096
    thinking: dict[str, Any] | None = None
    tool_choice: dict[str, Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)  # local tags; only `user_id` is sent to the API


@dataclass
class ModelResponse:
    id: str
    model: str
    content: list[dict[str, Any]]  # content blocks as dicts: text, tool_use, thinking, ...
    stop_reason: str | None
    usage: Usage
    request_id: str | None = None

    def text(self) -> str:
        return "".join(b.get("text", "") for b in self.content if b.get("type") == "text")

    def tool_uses(self) -> list[dict[str, Any]]:
        return [b for b in self.content if b.get("type") == "tool_use"]


# Streaming callback: receives each raw SSE event as a dict (type + payload) as it arrives.
StreamCallback = Callable[[dict[str, Any]], Awaitable[None] | None]


@runtime_checkable
class Model(Protocol):
    """A model backend. `spec` is the string it was built from (`anthropic:claude-x`, ...)."""

    spec: str
    name: str  # the model name sent on the wire

    async def complete(self, request: ModelRequest, *, on_event: StreamCallback | None = None
                       ) -> ModelResponse:
        """One streamed Messages API call. Raises `ModelError` subclasses on failure."""
        ...

    async def aclose(self) -> None: ...
