"""Reading a catalog file: bytes in, normalised text plus findings out, never an exception.

A BOM, CRLF line endings or bytes that are not UTF-8 make many front-matter loaders miss the
`---` fence or misread a value, so they are reported here; the text handed on is normalised
(BOM dropped, LF endings) so every later check still runs and reports its own line numbers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from agentbook.catalog.findings import Finding

BOM = b"\xef\xbb\xbf"
MAX_SOURCE_BYTES = 1 << 20  # a skill or runbook is instructions for a model; more is a mistake or an attack


@dataclass
class SourceText:
    path: Path
    raw: bytes
    text: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def blob_sha(self) -> str:
        return git_blob_sha(self.raw)


def git_blob_sha(raw: bytes) -> str:
    """The id git gives these bytes (`git hash-object`), so a run can name the exact runbook it used."""
    return hashlib.sha1(b"blob %d\x00" % len(raw) + raw).hexdigest()


def read_source(path: Path, shown: str | None = None) -> SourceText | Finding:
    """Read `path`; a file that cannot be read or decoded comes back as a single Finding."""
    from agentbook.fsutil import NotRegular, open_regular

    where = shown or str(path)
    try:
        # a regular file only, opened without blocking: a SKILL.md that is a fifo hung every catalog load
        with open_regular(path) as fh:
            raw = fh.read(MAX_SOURCE_BYTES + 1)  # never more: a huge file costs 1 MB to refuse
    except NotRegular as err:
        if path.is_dir():
            return Finding(where, 1, 1, "read-error", "expected a file, found a directory")
        return Finding(where, 1, 1, "read-error", f"cannot read file: a {err}")
    except OSError as err:
        return Finding(where, 1, 1, "read-error", f"cannot read file: {err.strerror or err}",
                       "check that the file exists and is readable")
    if len(raw) > MAX_SOURCE_BYTES:
        return Finding(where, 1, 1, "too-large", f"file is larger than the limit of {MAX_SOURCE_BYTES:,} bytes",
                       "keep SKILL.md and runbooks short; move reference material into references/*.md")
    findings: list[Finding] = []
    data = raw
    if data.startswith(BOM):
        data = data[len(BOM):]
        findings.append(Finding(where, 1, 1, "bom", "file starts with a UTF-8 byte order mark",
                                "save the file as UTF-8 without BOM; loaders then miss the '---' fence"))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line, col = _position_of(data, err.start)
        return Finding(where, line, col, "encoding", f"file is not valid UTF-8 (byte 0x{data[err.start]:02x})",
                       "save the file as UTF-8")
    if "\r\n" in text:
        line = text[: text.index("\r\n")].count("\n") + 1
        # a warning: the spec has no rule on line endings and agentbook reads either; some tools do not
        findings.append(Finding(where, line, len(text[: text.index("\r\n")].rsplit("\n", 1)[-1]) + 1, "crlf",
                                "CRLF line endings", "convert to LF line endings (e.g. `dos2unix FILE`)",
                                "warning"))
        text = text.replace("\r\n", "\n")
    return SourceText(path, raw, text, findings)


def _position_of(data: bytes, offset: int) -> tuple[int, int]:
    before = data[:offset]
    line = before.count(b"\n") + 1
    col = offset - (before.rfind(b"\n") + 1) + 1
    return line, col
