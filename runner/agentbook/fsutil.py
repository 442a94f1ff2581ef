"""Files are the database: atomic writes and advisory locks, used by every package.

A write goes to a temporary file in the same directory, is fsynced, then renamed over the target, so a
reader (or a `kill -9`) sees the old bytes or the new bytes, never a mix.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from agentbook.errors import FatalError

TYPE_CHECKING = False  # `typing` at run time would cost `agentbook eval list` several ms
if TYPE_CHECKING:
    from io import BufferedReader
    from typing import Any

MAX_BYTES = 64 << 20  # the default cap on a file agentbook parses whole (YAML suites, catalogs)


def max_bytes() -> int:
    """The default size cap: `AGENTBOOK_YAML_MAX_BYTES` when set to a positive integer, else 64 MiB.
    Here rather than in yamlsafe (which re-exports it) so `eval list` checks it without a YAML parser."""
    raw = os.environ.get("AGENTBOOK_YAML_MAX_BYTES", "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else MAX_BYTES


class NotRegular(OSError):
    """A fifo, socket, device or folder where a file was expected: reading it could block for ever."""


def file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "fifo"), (stat.S_ISSOCK, "socket"),
                       (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device")):
        if test(mode):
            return name
    return "regular file" if stat.S_ISREG(mode) else "special file"


def open_regular(path: Path | str, follow: bool = True) -> BufferedReader:
    """`path` opened for reading if it is a regular file (not a symlink either, unless `follow`), else
    NotRegular (or OSError: ELOOP for a link). The open cannot block (O_NONBLOCK: a fifo with no writer)
    and the type is checked on the descriptor, so nothing swapped in after a check is read."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    fd = os.open(path, flags)
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise NotRegular(f"{file_kind(mode)}, not a regular file")
    return os.fdopen(fd, "rb")


def read_untrusted(path: Path | str, *, limit: int, what: str, follow: bool = False,
                   too_big: Callable[[int], FatalError] | None = None) -> bytes:
    """The bytes of a file someone else may have written (a ticket, a suite, a trace), read from one
    descriptor that is a regular file (never a link unless `follow`, never a fifo or device) and at most
    `limit` bytes long (else `too_big(size)`), else a FatalError naming `what`. A check by path and a
    later read by path let a file swapped for `-> /proc/self/environ` in between be read: the runner's
    keys in a prompt. (`/proc` files are regular to fstat: only refusing the link keeps them out.)"""
    data = b""
    try:
        with open_regular(path, follow=follow) as fh:
            size = os.fstat(fh.fileno()).st_size
            if size <= limit:
                data = fh.read(limit + 1)  # a file that grows while read is cut at the limit and refused
                size = len(data)
    except NotRegular as err:
        raise FatalError(f"{what} is a {err}: {path}", hint="name a regular file") from None
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise FatalError(f"{what} is a symbolic link, which is not followed: {path}",
                             hint="name the file it leads to") from None
        raise FatalError(f"cannot read {path}: {err.strerror or err}") from None
    if size > limit:
        raise too_big(size) if too_big else FatalError(
            f"{what} is {size:,} bytes, more than the limit of {limit:,}", location=str(path),
            hint="split it into smaller files")
    return data


def atomic_write_bytes(path: Path | str, data: bytes, *, mode: int | None = None) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    import tempfile  # here, not at the top: it imports shutil, bz2, lzma (costly for read-only commands)

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is None and path.exists():
            mode = path.stat().st_mode & 0o7777
        os.chmod(tmp, mode if mode is not None else 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


Piece = bytes | tuple[int, int]  # new bytes, or (offset, length) of the file being replaced
_COPY_CHUNK = 1 << 20


def atomic_splice(path: Path | str, pieces: list[Piece]) -> os.stat_result:
    """Atomically replace `path` with `pieces` joined: new bytes, or (offset, length) ranges of the
    current file, which the kernel copies (`copy_file_range`, a reflink where the file system has one)
    without passing them through this process. One fsync; returns the new file's stat.

    Changing one case of a 20 MB suite thus moves a few KB through Python instead of 40 MB."""
    path = Path(path)
    import tempfile  # here, not at the top: it imports shutil, bz2, lzma (costly for read-only commands)

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with open(path, "rb") as src:
            for piece in pieces:
                if isinstance(piece, tuple):
                    _copy_range(src.fileno(), fd, *piece)
                else:
                    _write_all(fd, piece)
            os.fsync(fd)
            os.fchmod(fd, os.fstat(src.fileno()).st_mode & 0o7777)
        os.close(fd)
        fd = -1
        os.replace(tmp, path)
        return os.stat(path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _copy_range(src: int, dst: int, offset: int, length: int) -> None:
    """Append `length` bytes of `src` from `offset` to `dst`: in the kernel, else (a file system or
    kernel without copy_file_range) through a bounded buffer."""
    end = offset + length
    while offset < end:
        try:
            copied = os.copy_file_range(src, dst, end - offset, offset)
        except OSError as err:
            if err.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM):
                raise
            copied = -1
        if copied == 0:
            raise OSError(errno.EIO, f"source ended at byte {offset}, {end - offset} bytes short")
        if copied < 0:
            while offset < end:
                chunk = os.pread(src, min(_COPY_CHUNK, end - offset), offset)
                if not chunk:
                    raise OSError(errno.EIO, f"source ended at byte {offset}, {end - offset} bytes short")
                _write_all(dst, chunk)
                offset += len(chunk)
            return
        offset += copied


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def atomic_write_text(path: Path | str, text: str, *, mode: int | None = None) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


def keep_out_of_git(folder: Path, what: str) -> None:
    """`folder/.gitignore` holding `*`, once, so agentbook's state in `folder` is never committed with the
    work around it (a runner's step would commit it, and the guard refuses anything under `.agentbook/`).
    A link at `folder` is left alone: what it leads to is not agentbook's to write; a read-only place is
    too (the writes that follow report their own errors)."""
    ignore = folder / ".gitignore"
    if folder.is_symlink() or ignore.exists() or ignore.is_symlink():
        return
    with contextlib.suppress(OSError):
        atomic_write_text(ignore, f"# agentbook state: {what}; never committed\n*\n")


def atomic_write_json(path: Path | str, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, ensure_ascii=False) + "\n")


def sync_filesystem(path: Path | str) -> None:
    """Flush every write on the file system holding `path` to disk (syncfs(2), `os.sync()` where it is
    missing): one call instead of an fsync per file, for a job that writes many files and then commits
    them with one small atomic write (which fsyncs itself)."""
    import ctypes  # here: only the jobs that write in bulk need it

    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        syncfs = getattr(ctypes.CDLL(None, use_errno=True), "syncfs", None)
        if syncfs is None or syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


def append_line(path: Path | str, line: str) -> None:
    """Append one line and fsync: for JSONL logs read back after a crash (a torn last line is skipped)."""
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line.rstrip("\n") + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def read_jsonl(path: Path | str) -> list[dict[str, Any]]:
    """Read a JSONL file written by `append_line`, skipping a torn final line left by a crash."""
    out: list[dict[str, Any]] = []
    p = Path(path)
    if not p.exists():
        return out
    for raw in p.read_text(encoding="utf-8", errors="replace").splitlines():
        if not raw.strip():
            continue
        try:
            out.append(json.loads(raw))
        except json.JSONDecodeError:
            continue
    return out


@contextlib.contextmanager
def file_lock(path: Path | str, *, shared: bool = False) -> Iterator[None]:
    """An advisory lock on `path` (created if missing), released when the block exits or the process dies."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)  # a link there: ELOOP, never a file made where it leads
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


@contextlib.contextmanager
def exclusive_lock(path: Path | str, busy: str, *, hint: str | None = None) -> Iterator[None]:
    """Hold an exclusive lock on `path` or fail at once with FatalError(busy) when another process holds
    it: for "one writer per folder" rules, where waiting would hide a second runner. The kernel frees
    the lock when the holder dies, so a `kill -9` never leaves it stuck."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)  # a link there: ELOOP, never a file made where it leads
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FatalError(busy, hint=hint) from None
        yield
    finally:
        os.close(fd)
