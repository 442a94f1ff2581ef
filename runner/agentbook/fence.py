"""Untrusted text inside a prompt, fenced so that nothing in it can close the fence (and, `visible`,
on a terminal, shown so that nothing in it can drive the terminal).

A fixed tag like `<data>...</data>` is closed by any text that writes `</data>` (or `</DATA>`,
`</data >`, a lookalike the model reads the same way), and escaping every variant is a losing game.
Here the tag's name carries a digest of everything fenced in the same prompt: `<data-3f9a...>`. To
close it early, a text would have to contain the digest of itself, which takes a preimage of SHA-256.
The tag is the same for the same content, so prompts stay byte-identical across runs (prompt caching,
scripted replays and analysis hashes keep working), yet no writer of the content can predict it.
"""

from __future__ import annotations

import hashlib
import re

# Characters a terminal acts on (C0 controls but tab and newline, DEL, C1 controls such as the one-byte
# CSI U+009B) and the bidirectional overrides and isolates that reorder what is shown ("Trojan Source")
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
TAG_HEX = 16  # 64 bits of the digest: far beyond what a writer of the content could search
_ATTR_UNSAFE = re.compile(r'["<>\n\r&]')


def fence_tag(kind: str, *contents: str) -> str:
    """A tag name for fencing `contents` (all the untrusted texts of one prompt) as `kind`."""
    digest = hashlib.sha256()
    for text in contents:
        digest.update(text.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return f"{kind}-{digest.hexdigest()[:TAG_HEX]}"


def fenced(text: str, tag: str, **attrs: str) -> str:
    """`text` between `<tag ...>` and `</tag>` lines; attribute values are cleaned of quote and tag chars."""
    extra = "".join(f' {k}="{_ATTR_UNSAFE.sub("_", v)}"' for k, v in attrs.items())
    return f"<{tag}{extra}>\n{text}\n</{tag}>"


def one_line(text: str, limit: int = 200) -> str:
    """Untrusted text bound for a place that expects one line (a heading, a list item): whitespace runs,
    newlines included, become one space, so it cannot start a heading or a section of its own."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "..."


def visible(text: str) -> str:
    """`text` with every character a terminal would act on written as its `\\uXXXX` escape: an escape
    sequence from a ticket or a trace (set the clipboard with OSC 52, rewrite the lines above, retitle
    the window) shows as text. Inside a JSON string the escape means the same character, so JSON output
    stays valid and equal."""
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
