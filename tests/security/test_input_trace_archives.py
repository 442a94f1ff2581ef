"""Attacks through an Inspect AI log (`.eval` zip archive or JSON), which anyone may have written and the
runner reads in its own process, as root. A member whose deflate stream is damaged crashed `trace export`
with zlib.error, an encrypted one with RuntimeError, an LZMA one naming a 4 GiB dictionary with
MemoryError under a memory limit, a name flagged UTF-8 that is not with UnicodeDecodeError (exit
70, a traceback). Short references that name long
things: 3,000 `attachment://` references to one 1 MiB attachment (a 2.5 KB archive) took 2.7 GB and died of
MemoryError, 5,000 model events each naming a 5,000-message `message_pool` 3 GB. These held: the unpacked
bound counts the bytes actually inflated (a member claiming a small size is not trusted), too many members is
refused, and member names (`../`, absolute, symlink mode bits) and sample ids (paths, NUL, escapes, bidi,
case and Unicode twins, 10,000 characters) never become paths outside the export or raw escapes on screen.
A central directory of a million entries was parsed whole (525 MB) before its members were counted; one
past 32 MiB is now refused first. A sample id of a million characters was printed whole by `trace export`
and `trace summary`; the screen shows 80."""

from __future__ import annotations

import json
import resource
import struct
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import CliResult

from agentbook.traces import archive
from agentbook.traces.readers import inspect_ai

Cli = Callable[..., CliResult]
HEADER = {"version": 2, "status": "success", "eval": {"task": "t", "run_id": "r", "model": "m"}, "plan": {}}


def _sample(ident: str = "s1", **fields: Any) -> dict[str, Any]:
    call = {"event": "model", "timestamp": "2026-01-01T00:00:00Z", "model": "m",
            "input": [{"role": "user", "content": "hi"}],
            "output": {"choices": [{"message": {"role": "assistant", "content": "yo"}}]}}
    return {"id": ident, "epoch": 1, "input": "hi", "messages": [], "events": [call], **fields}


def _archive(path: Path, samples: list[dict[str, Any]], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as zf:
        zf.writestr("header.json", json.dumps(HEADER))
        for n, sample in enumerate(samples, 1):
            zf.writestr(f"samples/{n}_epoch_1.json", json.dumps(sample))
    return path


def _run_bounded(args: list[str], memory: int) -> subprocess.CompletedProcess[str]:
    """`agentbook ARGS` in a process that cannot take more than `memory` bytes (an unbounded read would
    otherwise take the test machine's)."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return subprocess.run([sys.executable, "-m", "agentbook", *args], capture_output=True, text=True, check=False,
                          preexec_fn=cap, timeout=120)


def _refused(code: int, err: str, *words: str) -> None:
    assert "Traceback" not in err and code == 3, err[-1500:]
    assert all(w in err for w in words), err


@pytest.mark.parametrize("damage", ["deflate", "encrypted", "name-not-utf8"])
def test_a_damaged_or_encrypted_member_is_an_error_not_a_crash(run_cli: Cli, tmp_path: Path, damage: str) -> None:
    path = _archive(tmp_path / "log.eval", [_sample()])
    data = bytearray(path.read_bytes())
    if damage == "deflate":  # garble the compressed bytes just after the sample's local header
        start = data.find(b"samples/1_epoch_1.json") + len("samples/1_epoch_1.json")
        for k in range(start + 5, start + 40):
            data[k] ^= 0x55
    else:  # the "encrypted" flag bit, or "the name is UTF-8" and a name that is not, in every header
        for magic, flags in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            at = data.find(magic)
            while at != -1:
                data[at + flags] |= 1 if damage == "encrypted" else 0
                data[at + flags + 1] |= 0 if damage == "encrypted" else 0x08
                at = data.find(magic, at + 4)
        if damage == "name-not-utf8":
            data[:] = data.replace(b"samples/1_epoch_1.json", b"samples/\xff_epoch_1.json")
    path.write_bytes(bytes(data))
    result = run_cli("trace", "export", path, tmp_path / "out")
    _refused(result.code, result.err, str(path))
    assert not (tmp_path / "out").exists()


def test_a_member_compressed_otherwise_than_inspect_does_is_refused(tmp_path: Path) -> None:
    """An LZMA member's header names its dictionary size, which liblzma allocates first: 4 GiB was a
    MemoryError (exit 70) in a process with a memory limit."""
    path = _archive(tmp_path / "log.eval", [_sample()], zipfile.ZIP_LZMA)
    data = bytearray(path.read_bytes())
    at = data.find(b"header.json") + len("header.json")  # LZMA's 4 header bytes, then lc/lp/pb, dictionary size
    data[at + 5:at + 9] = struct.pack("<I", 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    result = _run_bounded(["trace", "export", str(path), str(tmp_path / "out")], 1 << 30)
    _refused(result.returncode, result.stderr, str(path), "not deflate")


def test_attachment_references_that_would_fill_memory_are_refused(tmp_path: Path) -> None:
    big = "0" * 32
    sample = _sample(attachments={big: "A" * (1 << 20)})
    sample["events"][0]["input"] = [{"role": "user", "content": f"attachment://{big}"} for _ in range(3000)]
    path = _archive(tmp_path / "log.eval", [sample])
    result = _run_bounded(["trace", "export", str(path), str(tmp_path / "out")], 1536 << 20)
    _refused(result.returncode, result.stderr, str(path), "attachment://", "256 MiB")


def test_pool_ranges_past_the_bound_are_refused(run_cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bound is a million messages (a minute and gigabytes to build); lowered here to keep the test short."""
    monkeypatch.setattr(inspect_ai, "MAX_POOLED", 10_000)
    pool = [{"id": str(n), "role": "user", "content": "m"} for n in range(200)]
    calls = [{"event": "model", "model": "m", "input": [], "input_refs": [[0, 200]], "output": {}}] * 100
    path = _archive(tmp_path / "log.eval", [_sample(events=calls, message_pool=pool)])
    result = run_cli("trace", "export", path, tmp_path / "out")
    _refused(result.code, result.err, str(path), "message pool")


@pytest.mark.parametrize("header", ["honest", "claims-small"])
def test_the_unpacked_bound_counts_inflated_bytes(run_cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  header: str) -> None:
    monkeypatch.setattr(archive, "MAX_UNPACKED", 1 << 20)
    path = _archive(tmp_path / "log.eval", [_sample(padding=" " * (3 << 20))])
    if header == "claims-small":  # the central directory says the sample is 100 bytes unpacked
        data = bytearray(path.read_bytes())
        entry = data.find(b"PK\x01\x02", data.find(b"PK\x01\x02") + 4)
        data[entry + 24:entry + 28] = struct.pack("<I", 100)
        path.write_bytes(bytes(data))
    result = run_cli("trace", "export", path, tmp_path / "out")
    _refused(result.code, result.err, str(path))


def test_too_many_members_are_refused(run_cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "MAX_MEMBERS", 50)
    path = _archive(tmp_path / "log.eval", [_sample(str(n)) for n in range(60)])
    result = run_cli("trace", "export", path, tmp_path / "out")
    _refused(result.code, result.err, str(path), "more than 50 files")


def _wide_directory(path: Path, entries: int) -> Path:
    """A zip64 archive of one real member and `entries` directory entries that all point at it."""
    body = json.dumps(HEADER).encode()
    crc, name = zlib.crc32(body), b"header.json"
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 0, 0, 0, crc, len(body), len(body), len(name), 0)

    def entry(member: bytes) -> bytes:
        return struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 45, 20, 0, 0, 0, 0, crc, len(body), len(body),
                           len(member), 0, 0, 0, 0, 0, 0) + member

    directory = entry(name) + b"".join(entry(b"x/%07d" % n) for n in range(entries))
    start, count = len(local) + len(name) + len(body), entries + 1
    end64 = struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, len(directory), start)
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, start + len(directory), 1)
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    path.write_bytes(local + name + body + directory + end64 + locator + end)
    return path


def test_a_directory_too_big_is_refused_before_it_is_parsed(run_cli: Cli, tmp_path: Path) -> None:
    """zipfile parsed a million entries (55 MB) into 525 MB in 5.6 s before the member count was checked."""
    path = _wide_directory(tmp_path / "log.eval", 700_000)
    result = run_cli("trace", "export", path, tmp_path / "out")
    _refused(result.code, result.err, str(path), "zip directory is over 32 MiB")


def test_member_names_and_sample_ids_stay_inside_the_export(run_cli: Cli, tmp_path: Path) -> None:
    ids = ["../../../etc/passwd", "/abs", f"{tmp_path}/outside/owned", "a\x00b", "\x1b]52;c;Y3VybA==\x07x\x1b[2J",
           "\u202egpj.exe", "CON", "Con", "caf\u00e9", "cafe\u0301", "x" * 10_000]
    path = tmp_path / "log.eval"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("header.json", json.dumps(HEADER))
        for n, ident in enumerate(ids):
            name = ["samples/../../x.json", "/samples/abs.json", "samples/link.json"][n] if n < 3 else f"samples/{n}.json"
            info = zipfile.ZipInfo(name)
            if name.endswith("link.json"):
                info.external_attr = 0o120777 << 16  # a symlink's mode: never followed, the member is read
            zf.writestr(info, json.dumps(_sample(ident)))
    out = tmp_path / "out"
    result = run_cli("trace", "export", path, out)
    assert result.code == 0, result.err
    assert not (tmp_path / "outside").exists() and "\x1b" not in result.out + result.err
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert len(folders) == len(ids) - 1  # "/samples/abs.json" is no member under samples/: not read
    written = [p.relative_to(out) for p in out.rglob("*")]
    assert all(len(part) <= 80 and part.isascii() and ".." not in part for p in written for part in p.parts)
    assert not any(p.is_symlink() for p in out.rglob("*"))


@pytest.mark.parametrize("command", ["export", "summary", "unknown-id"])
def test_a_long_sample_id_is_shown_cut(run_cli: Cli, tmp_path: Path, command: str) -> None:
    """A sample id is the log's to choose: three of a million characters printed 3 MB for each command."""
    path = _archive(tmp_path / "log.eval", [_sample(f"{n}" + "x" * 1_000_000) for n in range(3)])
    args = {"export": ["export", path, tmp_path / "out"], "summary": ["summary", path],
            "unknown-id": ["export", path, tmp_path / "out", "--trace-id", "nope"]}[command]
    result = run_cli("trace", *args)
    assert result.code == (3 if command == "unknown-id" else 0), result.err[-500:]
    assert len(result.out) + len(result.err) < 5000
