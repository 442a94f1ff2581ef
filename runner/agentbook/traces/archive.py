"""Inspect AI's `.eval` log: a zip archive of JSON files, read as the one JSON log document it stands for.

The archive holds `header.json` (the log without samples), `samples/<id>_epoch_<n>.json` (one sample
each), `reductions.json`, and `summaries.json` plus `_journal/` (copies of what the header and samples
say, written while the eval ran): the document is the header with `samples` (in the archive's order)
and `reductions`, as `inspect log dump` prints it; the copies are not read.

An archive is anyone's to write and is read in the runner's process: members are read through a bounded
read (never trusting the sizes the zip declares), their JSON values counted before parsing as any trace
file's are, and an archive that would unpack past `MAX_UNPACKED` is refused."""

from __future__ import annotations

import json
import zipfile
import zlib
from pathlib import Path
from typing import Any

from agentbook.errors import FatalError

MAGIC = b"PK\x03\x04"
MAX_UNPACKED = 512 << 20  # bytes of JSON an archive may unpack to (a plain trace file that big is read whole too)
MAX_MEMBERS = 100_000
# zipfile parses the whole central directory before anything can count its members, at ~10 times its size
# (a 55 MB directory of a million entries: 525 MB, 5.6 s), and it reads as far as the directory's declared
# size, not its declared count; 100,000 members with long names need a few MiB.
MAX_DIRECTORY = 32 << 20


def is_archive(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(4) == MAGIC


def read_eval_archive(path: Path, weigh: Any) -> dict[str, Any]:
    """The log document of an `.eval` archive; `weigh(raw, before)` bounds the JSON values parsed."""
    try:
        _check_directory(path)
        with zipfile.ZipFile(path) as archive:
            names = [i.filename for i in archive.infolist()[:MAX_MEMBERS + 1]]
            if len(names) > MAX_MEMBERS:
                raise FatalError(f"{path}: more than {MAX_MEMBERS:,} files in the archive")
            if "header.json" not in names:
                raise FatalError(f"{path}: a zip archive without header.json is not an Inspect log",
                                 hint="trace files are JSON or JSON Lines, or Inspect's .eval archives")
            budget = [MAX_UNPACKED, 0]  # bytes left, values counted
            doc = _member(archive, "header.json", path, budget, weigh)
            if not isinstance(doc, dict):
                raise FatalError(f"{path}: header.json is not a JSON object")
            samples = [n for n in names if n.startswith("samples/") and n.endswith(".json")]
            doc["samples"] = [_member(archive, n, path, budget, weigh) for n in samples]
            if "reductions.json" in names:
                doc["reductions"] = _member(archive, "reductions.json", path, budget, weigh)
            return doc
    # A damaged member fails in its decompressor, not in zipfile: zlib.error; a name flagged UTF-8 that is
    # not, in zipfile's decoding: UnicodeDecodeError.
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, zlib.error,
            UnicodeDecodeError) as err:
        raise FatalError(f"{path}: not a readable .eval archive ({err})") from None


def _check_directory(path: Path) -> None:
    """Refuse a central directory past MAX_DIRECTORY, as zipfile finds its end record (its own reader)."""
    end_record = getattr(zipfile, "_EndRecData", None)
    if end_record is None:  # a Python without it: the member count is still bounded, after parsing
        return
    with path.open("rb") as fh:
        end = end_record(fh)
    if end and end[getattr(zipfile, "_ECD_SIZE", 5)] > MAX_DIRECTORY:
        raise FatalError(f"{path}: its zip directory is over {MAX_DIRECTORY >> 20} MiB (more files than an "
                         f"Inspect log holds)", hint=f"an Inspect log has at most {MAX_MEMBERS:,} files")


def _member(archive: zipfile.ZipFile, name: str, path: Path, budget: list[int], weigh: Any) -> Any:
    info = archive.getinfo(name)
    if info.flag_bits & 0x1:  # zipfile would raise RuntimeError asking for a password
        raise FatalError(f"{path}: {name} in the archive is encrypted", location=f"{path}:{name}",
                         hint="Inspect writes its logs unencrypted; this archive is not one")
    # Inspect deflates its members. LZMA's header names its dictionary size, allocated before a byte is read
    # (4 GiB: a MemoryError under a memory limit); bzip2 and the rest are no more than surface.
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise FatalError(f"{path}: {name} in the archive is compressed with method {info.compress_type}, not "
                         f"deflate", location=f"{path}:{name}", hint="Inspect writes its logs stored or deflated")
    with archive.open(name) as fh:
        raw = fh.read(budget[0] + 1)
    budget[0] -= len(raw)
    if budget[0] < 0:
        raise FatalError(f"{path}: unpacks to more than {MAX_UNPACKED >> 20} MiB of JSON", location=f"{path}:{name}",
                         hint="an Inspect log that big: `inspect log dump` it, or split its samples")
    budget[1] = weigh(raw, budget[1])
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FatalError(f"{path}: {name} in the archive is not JSON ({err})", location=f"{path}:{name}") from None
