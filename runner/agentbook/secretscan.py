"""Secrets the runner holds, the forms they take in text, and finding them (by name, never by value).

Like GitHub push protection, two kinds of finding:
- a *held secret*: the value of a variable the runner has (`ANTHROPIC_API_KEY`, `GITHUB_TOKEN`,
  `AGENTBOOK_COMPAT_API_KEY`, ..., and every `--secret NAME`), found as written, reversed, in hex,
  in base64 at each of the three byte alignments (standard and URL-safe alphabets, padded or not, wrapped
  at any width), split over lines (the same forms after whitespace, quotes, `+` and backslashes are
  squeezed out), and written in escapes, some characters or all (`%73`, `\u0073`, `\x73`, `&#115;`:
  `Unescaped`); hex in any mix of cases;
- a *key shape*: something that looks like a well-known credential (Anthropic, OpenAI, GitHub,
  AWS, Slack, GitLab, Google, Stripe, npm, PyPI tokens; private-key PEM headers).

Own patterns rather than `detect-secrets`: redaction needs the same patterns as substitutable
regexes over streamed text, the library's last release is from 2024, and its entropy detectors
flag the commit and blob ids that fill agentbook's records.
"""

from __future__ import annotations

import base64
import bisect
import os
import re
from collections.abc import Iterable

from agentbook.records import FrozenRecord

TYPE_CHECKING = False  # `typing` at run time would cost `agentbook eval list` several ms
if TYPE_CHECKING:
    from typing import Any

# Variables the runner always treats as secrets, and names that look like one.
SECRET_VARS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "GITHUB_TOKEN", "GH_TOKEN", "OPENAI_API_KEY",
               "AGENTBOOK_COMPAT_API_KEY")
SECRET_ENV_NAMES = re.compile(r"(API_KEY|AUTH_TOKEN|_TOKEN|SECRET|PASSWORD)$")
MIN_SECRET_LEN = 6  # shorter values would redact ordinary words
MIN_FORM_LEN = 12  # derived forms (base64, hex, reversed) only for values this long
MIN_CORE_LEN = 8  # a base64 core shorter than this would match ordinary text

# One pattern each, every one starting with a literal, so the regex engine skips ahead by substring
# search instead of trying each position.
KEY_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = tuple((name, re.compile(p)) for name, p in (
    ("Anthropic API key", r"sk-ant-[A-Za-z0-9_\-]{8,}"),
    ("OpenAI-style API key", r"sk-(?:proj-)?[A-Za-z0-9_\-]{20,}"),
    ("GitHub token", r"gh[pousr]_[A-Za-z0-9]{20,}"),
    ("GitHub fine-grained token", r"github_pat_[A-Za-z0-9_]{20,}"),
    ("AWS access key id", r"(?:AKIA|ASIA)[0-9A-Z]{16}"),
    ("Slack token", r"xox[baprs]-[A-Za-z0-9\-]{10,}"),
    ("GitLab token", r"glpat-[A-Za-z0-9_\-]{20,}"),
    ("Google API key", r"AIza[0-9A-Za-z_\-]{35}"),
    ("Stripe key", r"[sr]k_live_[0-9A-Za-z]{20,}"),
    ("npm token", r"npm_[A-Za-z0-9]{36}"),
    ("PyPI token", r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{20,}"),
    ("private key", r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
))
_SQUEEZED = re.compile(r"[\s\"'+\\]+")  # what a secret split over lines has between its pieces
# the same characters among the first 256, for squeezing latin-1 text as bytes (many times faster)
_SQUEEZED_BYTES = bytes(c for c in range(256) if _SQUEEZED.fullmatch(chr(c)))


def squeeze(text: str) -> str:
    """`text` without what `_SQUEEZED` matches."""
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        return _SQUEEZED.sub("", text)
    return raw.translate(None, _SQUEEZED_BYTES).decode("latin-1")
# Escapes that each stand for one character: a URL's (`%73`; `%2573` is the same escaped once more), JSON's,
# JavaScript's and Python's (`\u0073`, `\x73`; any number of backslashes before, as when the escape was
# itself escaped in JSON), HTML's (`&#115;`, `&#x73;`).
_ESCAPE = re.compile(r"%(?:25)*([0-9A-Fa-f]{2})|\\+u([0-9A-Fa-f]{4})|\\+x([0-9A-Fa-f]{2})"
                     r"|&#[xX]([0-9A-Fa-f]{1,6});|&#([0-9]{1,7});")
MAX_UNESCAPE = 3  # rounds of unescaping (an escape that unescaped becomes one), each on less text


def _escaped_char(m: re.Match[str]) -> str:
    hexa = m.group(1) or m.group(2) or m.group(3) or m.group(4)
    code = int(hexa, 16) if hexa else int(m.group(5))
    if code < 0x20:  # a line break or a tab counts as a gap between pieces, and keeps line numbers
        return " "
    return chr(code) if code <= 0x10FFFF and not 0xD800 <= code < 0xE000 else "\ufffd"


class Unescaped:
    """`text` with each escape replaced by the character it stands for (`text`), and where each character
    of that came from in the original (`span`)."""

    __slots__ = ("_from", "_starts", "escaped_at", "text")

    def __init__(self, original: str, matches: list[re.Match[str]]) -> None:
        pieces: list[str] = []
        self._starts: list[int] = []  # piece k begins at this offset of `text` ...
        self._from: list[int] = []  # ... and at this one of the original
        self.escaped_at: list[int] = []  # offsets in `text` of the characters that were escapes
        pos = out = 0
        for m in matches:
            if m.start() > pos:
                pieces.append(original[pos:m.start()])
                self._starts.append(out)
                self._from.append(pos)
                out += m.start() - pos
            pieces.append(_escaped_char(m))
            self.escaped_at.append(out)
            self._starts.append(out)
            self._from.append(m.start())
            out += 1
            pos = m.end()
        pieces.append(original[pos:])
        self._starts += [out, out + len(original) - pos]
        self._from += [pos, len(original)]
        self.text = "".join(pieces)

    @classmethod
    def of(cls, text: str) -> Unescaped | None:
        """`text` unescaped, or None when it holds no escape."""
        if "%" not in text and "\\" not in text and "&#" not in text:
            return None
        matches = list(_ESCAPE.finditer(text))
        return cls(text, matches) if matches else None

    def windows(self, reach: int) -> list[tuple[int, int]]:
        """The stretches of `text` within `reach` characters of an escaped one, merged: a form found
        anywhere else in it was found in the original already."""
        if len(self.escaped_at) * reach >= len(self.text):  # escapes everywhere: the whole text, at once
            return [(0, len(self.text))]
        out: list[tuple[int, int]] = []
        for at in self.escaped_at:
            lo, hi = max(0, at - reach), min(len(self.text), at + reach + 1)
            if out and lo <= out[-1][1]:
                out[-1] = (out[-1][0], hi)
            else:
                out.append((lo, hi))
        return out

    def span(self, lo: int, hi: int) -> tuple[int, int]:
        """The stretch of the original that characters `lo` to `hi` (exclusive) of `text` came from."""
        return self._origin(lo, start=True), self._origin(hi - 1, start=False)

    def _origin(self, i: int, *, start: bool) -> int:
        k = bisect.bisect_right(self._starts, i) - 1
        literal = self._from[k + 1] - self._from[k] == self._starts[k + 1] - self._starts[k]
        if literal:
            return self._from[k] + i - self._starts[k] + (0 if start else 1)
        return self._from[k] if start else self._from[k + 1]


# Names (paths, branches) are often made branch-safe: lower-cased, every other run of characters one
# dash, cut to a length. A name holding any 16 characters in a row of a form made safe that way holds
# most of a secret (the rest is a small search away), so that counts as a hit too.
_NAME_UNSAFE = re.compile(r"[^a-z0-9]+")
NAME_WINDOW = 16
_URLSAFE = str.maketrans("+/", "-_")


class Secret(FrozenRecord):
    """A held secret: the variable's name (what findings say) and its value (what they never say)."""

    __slots__ = ("name", "value")
    name: str
    value: str

    def __init__(self, name: str, value: str) -> None:
        self._set(name=name, value=value)

    def forms(self) -> tuple[str, ...]:
        """Every text the value can hide as: itself, reversed, hex, base64 cores."""
        return secret_forms(self.value)


def secret_forms(value: str) -> tuple[str, ...]:
    """`value`, reversed, hex, base64 (each alignment's core, url-safe too), and two of those encodings stacked:
    base64 of the hex (lower or upper case), hex of each base64 core (`xxd -p | base64`, `base64 | xxd -p`).
    Escapes over any of them are the scan's and the redactor's to unwrap; a third encoding, base64 of base64 and
    hex of hex are not forms (docs/SECURITY.md)."""
    forms = {value}
    if len(value) >= MIN_FORM_LEN:
        raw = value.encode("utf-8")
        cores = _base64_cores(raw)
        forms |= {value[::-1], raw.hex(), raw.hex().upper(), *cores}
        forms |= _base64_cores(raw.hex().encode()) | _base64_cores(raw.hex().upper().encode())
        forms |= {core.encode().hex() for core in cores}
    return tuple(sorted(forms, key=len, reverse=True))


def _base64_cores(raw: bytes) -> set[str]:
    """The part of base64 fixed by `raw` alone, for each of its three possible alignments: the
    first quad also holds bytes before it, the last one bytes after it, so both are left out."""
    cores = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode("ascii")
        core = encoded[4 if shift else 0:4 * ((shift + len(raw)) // 3)]
        if len(core) >= MIN_CORE_LEN:
            cores |= {core, core.translate(_URLSAFE)}
    return cores


_NAMED: set[str] = set()  # `--secret NAME`s given to this process: every later redaction covers them


def hold(names: Iterable[str]) -> None:
    """Treat the variables `names` as secrets for the rest of this process (`--secret NAME`)."""
    _NAMED.update(names)


def held_secrets(names: Iterable[str] = (), environ: dict[str, str] | None = None) -> list[Secret]:
    """The secrets this process holds: the fixed variables, secret-looking ones, `hold()`'s names
    and `names`."""
    env = os.environ if environ is None else environ
    wanted = set(SECRET_VARS) | _NAMED | set(names) | {k for k in env if SECRET_ENV_NAMES.search(k)}
    return [Secret(k, env[k]) for k in sorted(wanted) if len(env.get(k) or "") >= MIN_SECRET_LEN]


class SecretHit(FrozenRecord):
    """Where a secret was found: `path` (or what was scanned), its line (0: the path itself), and the
    secret's name or the key shape's kind. The value is never kept."""

    __slots__ = ("form", "line", "path", "secret")
    path: str
    line: int
    secret: str
    form: str

    def __init__(self, path: str, line: int, secret: str, form: str = "plain") -> None:
        self._set(path=path, line=line, secret=secret, form=form)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "secret": self.secret, "form": self.form}

    def render(self) -> str:
        if self.line < 0:  # what could not be scanned (too large, out of time): never committed or pushed
            return f"{self.path}: {self.secret}: {self.form}"
        where = f"{self.path}:{self.line}" if self.line else f"{self.path} (its name)"
        return f"{where}: {self.secret}" + ("" if self.form == "plain" else f" ({self.form})")


class SecretScanner:
    """Finds held secrets (every form) and key shapes in text, a line number for each."""

    def __init__(self, secrets: Iterable[Secret]) -> None:
        self.secrets = [s for s in secrets if len(s.value) >= MIN_SECRET_LEN]
        self._forms = [(s.name, f, _form_kind(s.value, f)) for s in self.secrets for f in s.forms()]
        # how far from an escaped character a form holding it may reach, split over lines too
        self._reach = 4 * max((len(form) for _, form, _ in self._forms), default=0) + 256
        self._squeezed = [(name, _SQUEEZED.sub("", form), kind) for name, form, kind in self._forms]
        self._windows: dict[str, tuple[str, str]] = {}  # every NAME_WINDOW-long piece of a form made safe
        self._short: list[tuple[str, str, str]] = []  # forms shorter than that, made safe, whole
        for name, form, kind in self._forms:
            key = _name_key(form)
            if len(key) < NAME_WINDOW:
                self._short.append((key, name, kind))
            for i in range(len(key) - NAME_WINDOW + 1):
                self._windows.setdefault(key[i:i + NAME_WINDOW], (name, kind))

    def scan(self, text: str, where: str, *, name_only: bool = False, split: bool = True,
             rounds: int = MAX_UNESCAPE) -> list[SecretHit]:
        """Hits in `text` (a file's content, a message); with `name_only` the text is a path and
        every hit is reported on line 0, case-insensitively (branch names are lowercased). Escaped
        text is scanned again unescaped, `rounds` times at most."""
        hits: dict[tuple[int, str], SecretHit] = {}
        haystack = text.lower() if name_only else text
        lower = haystack if name_only else None
        for name, form, kind in self._forms:
            if kind == "hex":  # hex digits in any mix of cases
                lower = text.lower() if lower is None else lower
                pos = lower.find(form.lower())
            else:
                pos = haystack.find(form.lower() if name_only else form)
            if pos >= 0:
                line = 0 if name_only else text.count("\n", 0, pos) + 1
                hits.setdefault((line, name), SecretHit(where, line, name, kind))
        if name_only:
            for name, kind in self._in_name(text):
                hits.setdefault((0, name), SecretHit(where, 0, name, f"{kind}, in part, made branch-safe"))
        for kind, shape in KEY_SHAPES:
            for m in shape.finditer(text):
                line = 0 if name_only else text.count("\n", 0, m.start()) + 1
                hits.setdefault((line, kind), SecretHit(where, line, kind, "key shape"))
                break
        if not name_only and split and "\n" in text:
            for hit in self._split(text, where):
                hits.setdefault((hit.line, hit.secret), hit)
        if not name_only and "\0" in text:  # UTF-16/UTF-32 text: ASCII with NUL bytes between
            for hit in self.scan(text.replace("\0", ""), where, split=split, rounds=rounds):
                wide = hit.replace(form=f"{hit.form}, UTF-16/32")
                hits.setdefault((hit.line, hit.secret), wide)
        decoded = Unescaped.of(text) if rounds > 0 else None
        if decoded is not None and name_only:  # a path or a branch: short, scanned whole
            for hit in self.scan(decoded.text, where, name_only=True, rounds=rounds - 1):
                form = hit.form if ", escaped" in hit.form else f"{hit.form}, escaped"
                hits.setdefault((0, hit.secret), hit.replace(form=form))
        elif decoded is not None:
            for hit in self._unescaped(decoded, where, split, rounds - 1):
                hits.setdefault((hit.line, hit.secret), hit)
        return sorted(hits.values(), key=lambda h: (h.line, h.secret))

    def _unescaped(self, decoded: Unescaped, where: str, split: bool, rounds: int) -> list[SecretHit]:
        """Hits in text unescaped, near its escaped characters (its lines are the original's: no escape
        unescapes to a line break)."""
        out = []
        for lo, hi in decoded.windows(self._reach):
            first = decoded.text.count("\n", 0, lo)
            for hit in self.scan(decoded.text[lo:hi], where, split=split, rounds=rounds):
                form = hit.form if hit.form.endswith(", escaped") else f"{hit.form}, escaped"
                out.append(hit.replace(line=hit.line + first, form=form))
        return out

    def overlap(self) -> int:
        """Characters each window of a streamed scan repeats from the one before: enough for the
        longest form written in UTF-32 (four characters each) or in escapes (up to eight each) and the
        longest key shape's minimum."""
        longest = max((len(form) for _, form, _ in self._forms), default=0)
        return 8 * longest + 256  # `\\u0073` is 6 characters for one, `%2573` 5

    def scan_stream(self, chunks: Iterable[str], where: str) -> list[SecretHit]:
        """`scan` over text that comes in pieces (a file read a window at a time, memory bounded by
        the window): each window starts with the last `overlap()` characters of the one before, so a
        secret cut by a window's edge is whole in the next; line numbers count from the stream's start.
        A form split over lines with more filler than the overlap between its pieces is looked for in
        the squeezed stream, which carries its own tail."""
        hits: dict[tuple[int, str], SecretHit] = {}
        keep = self.overlap()
        longest = max((len(form) for _, form, _ in self._squeezed), default=1)
        tail, tail_line = "", 1  # the end of the previous window, and the line it starts on
        squeezed_tail = ""
        for chunk in chunks:
            window = tail + chunk
            for hit in self.scan(window, where, split=False):  # split forms: the squeezed stream below
                line = hit.line + tail_line - 1
                hits.setdefault((line, hit.secret), hit.replace(line=line))
            squeezed = squeezed_tail + squeeze(chunk.replace("\0", "") if "\0" in chunk else chunk)
            found = {hit.secret for hit in hits.values()}
            lower = squeezed.lower()
            for name, form, kind in self._squeezed:
                pos = lower.find(form.lower()) if kind == "hex" else squeezed.find(form)
                if name not in found and pos >= 0:  # its line: where this window begins
                    hits[(tail_line, name)] = SecretHit(where, tail_line, name, f"{kind}, split over lines")
                    found.add(name)
            squeezed_tail = squeezed[-(longest - 1):] if longest > 1 else ""
            cut = max(0, len(window) - keep)
            tail_line += window.count("\n", 0, cut)
            tail = window[cut:]
        return sorted(hits.values(), key=lambda h: (h.line, h.secret))

    def _in_name(self, text: str) -> list[tuple[str, str]]:
        """(secret name, form kind) of every held secret that a branch-safe copy of `text` holds
        `NAME_WINDOW` characters of (all of it when the form is shorter)."""
        hay = _name_key(text)
        found: dict[str, str] = {}
        for i in range(max(1, len(hay) - NAME_WINDOW + 1)):
            hit = self._windows.get(hay[i:i + NAME_WINDOW])
            if hit:
                found.setdefault(*hit)
        for key, name, kind in self._short:
            if key in hay:
                found.setdefault(name, kind)
        return sorted(found.items())

    def _split(self, text: str, where: str) -> list[SecretHit]:
        """Forms cut into pieces over lines (quotes, `+`, backslashes and whitespace between)."""
        squeezed = squeeze(text)
        lower: str | None = None
        out = []
        for name, form, kind in self._squeezed:
            if kind == "hex":
                lower = squeezed.lower() if lower is None else lower
                pos = lower.find(form.lower())
            else:
                pos = squeezed.find(form)
            if pos >= 0:
                out.append(SecretHit(where, _line_of_squeezed(text, pos), name, f"{kind}, split over lines"))
        return out


def _name_key(text: str) -> str:
    return _NAME_UNSAFE.sub("-", text.lower())


def _form_kind(value: str, form: str) -> str:
    if form == value:
        return "plain"
    if form == value[::-1]:
        return "reversed"
    if re.fullmatch(r"[0-9a-fA-F]+", form) and len(form) == 2 * len(value.encode("utf-8")):
        return "hex"
    if re.fullmatch(r"[0-9a-fA-F]+", form) and len(form) % 2 == 0 and len(form) > 2 * MIN_CORE_LEN:
        return "hex"  # of a base64 core: hex digits in any mix of cases
    return "base64"


def _line_of_squeezed(text: str, pos: int) -> int:
    """The line of `text` holding character `pos` of its squeezed copy."""
    removed = 0
    for m in _SQUEEZED.finditer(text):
        if pos < m.start() - removed:  # the character lies before this gap
            break
        removed += m.end() - m.start()
    return text.count("\n", 0, pos + removed) + 1
