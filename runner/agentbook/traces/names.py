"""Names taken from a trace are untrusted: make them safe, short folder and file name parts.

Only `a-z0-9._-` survive, never a leading dot (so no `..`, no hidden files), never empty, never long.
Every name the exporter builds starts with a number it chose, so two spans never share a folder.
"""

from __future__ import annotations

import re
import unicodedata

_UNSAFE = re.compile(r"[^a-z0-9._-]+")


def slug(text: str, limit: int = 40, fallback: str = "span") -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    cleaned = _UNSAFE.sub("-", ascii_text.lower()).strip("-.")
    cleaned = re.sub(r"[-.]*-[-.]*", "-", cleaned)  # a run of dashes and dots with a dash: one dash
    cleaned = re.sub(r"\.{2,}", ".", cleaned)
    return cleaned[:limit].rstrip("-.") or fallback


def one_line(text: str, limit: int = 120) -> str:
    """For tree.txt, index.tsv and lists: no tabs or newlines, bounded."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
