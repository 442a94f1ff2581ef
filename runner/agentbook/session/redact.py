"""Secrets never reach a transcript or a trace: known values and anything shaped like an API key."""

from __future__ import annotations

import json
import os
import re
from typing import Any

REDACTED = "[REDACTED]"
# Key shapes worth catching even when nobody listed them. One pattern each, every one starting with a
# literal, so the regex engine skips ahead by substring search instead of trying each position.
KEY_SHAPES = [re.compile(p) for p in (
    r"sk-ant-[A-Za-z0-9_\-]{8,}",  # Anthropic
    r"sk-(?:proj-)?[A-Za-z0-9_\-]{20,}",  # OpenAI-style
    r"gh[pousr]_[A-Za-z0-9]{20,}", r"github_pat_[A-Za-z0-9_]{20,}",  # GitHub
    r"AKIA[0-9A-Z]{16}",  # AWS access key id
    r"xox[baprs]-[A-Za-z0-9\-]{10,}",  # Slack
)]
SECRET_ENV_NAMES = re.compile(r"(API_KEY|AUTH_TOKEN|_TOKEN|SECRET|PASSWORD)$")
MIN_SECRET_LEN = 6  # shorter values would redact ordinary words


class Redactor:
    """Replaces every listed secret (and the values of secret-looking env vars) in strings and JSON."""

    def __init__(self, secrets: list[str] | None = None, *, from_env: bool = True) -> None:
        values = {s for s in (secrets or []) if s and len(s) >= MIN_SECRET_LEN}
        if from_env:
            values |= {v for k, v in os.environ.items() if SECRET_ENV_NAMES.search(k) and len(v) >= MIN_SECRET_LEN}
        self._exact = _alternatives(values)
        self._escaped = _alternatives({json.dumps(v, ensure_ascii=False)[1:-1] for v in values})

    def text(self, value: str) -> str:
        if self._exact is not None:
            value = self._exact.sub(REDACTED, value)
        return _key_shapes(value)

    def dumps(self, value: Any) -> str:
        """`value` as JSON with every secret replaced: one pass over the text, not over the structure."""
        return self.json_text(json.dumps(value, ensure_ascii=False, default=str))

    def json_text(self, text: str) -> str:
        """JSON text with every secret replaced."""
        if self._escaped is not None:  # secrets as they appear inside JSON strings
            text = self._escaped.sub(REDACTED, text)
        return _key_shapes(text)

    def json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.json(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.json(v) for v in value]
        return value


def _alternatives(values: set[str]) -> re.Pattern[str] | None:
    # longest first, so a secret that contains another is replaced whole
    if not values:
        return None
    return re.compile("|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)))


def _key_shapes(text: str) -> str:
    for shape in KEY_SHAPES:
        text = shape.sub(REDACTED, text)
    return text
