"""Resource limits of the bash sandbox and of every tool call, with their defaults.

Set with `--limit NAME=VALUE` on `agentbook run` / `agentbook session`, or a runbook's
`limits: {sandbox: {NAME: VALUE}}`; the CLI wins. Sizes take K/M/G suffixes (powers of 1024), times
take s/m/h. `processes` and `memory` are per user and per process (RLIMIT_NPROC, RLIMIT_DATA); as root
RLIMIT_NPROC does not apply, so a pids cgroup carries `processes` where one can be made, and a memory
cgroup caps the whole call's `memory` (session/jail.py).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from agentbook.errors import FatalError

KIB, MIB, GIB = 1024, 1024 ** 2, 1024 ** 3
_SIZE = re.compile(r"^\s*(\d+)\s*([KMGT]?)(?:i?B)?\s*$", re.IGNORECASE)
_TIME = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$")
_UNITS = {"": 1, "K": KIB, "M": MIB, "G": GIB, "T": GIB * 1024}
SIZES = ("memory", "file_size", "disk", "tmp")
COUNTS = ("processes", "open_files")
TIMES = ("cpu", "tool_seconds")
HELP = {
    "processes": "processes of the sandbox at once (RLIMIT_NPROC; a pids cgroup as root)",
    "memory": "memory a sandboxed process may allocate (RLIMIT_DATA)",
    "file_size": "largest file a sandboxed process may write (RLIMIT_FSIZE)",
    "cpu": "CPU seconds per sandboxed process (RLIMIT_CPU)",
    "open_files": "open files per sandboxed process (RLIMIT_NOFILE)",
    "disk": "what a run adds to its worktree; a bash call that grows it past this is killed",
    "tmp": "size of the sandbox's private /tmp",
    "tool_seconds": "wall clock of one tool call (bash's own timeout can only be shorter)",
}


@dataclass(frozen=True)
class Limits:
    processes: int = 512
    memory: int = 4 * GIB
    file_size: int = 1 * GIB
    cpu: float = 600.0
    open_files: int = 4096
    disk: int = 2 * GIB
    tmp: int = 512 * MIB
    tool_seconds: float = 60.0
    # what `disk` is counted over: a run's checkout as it made the worktree (the runner's, never a flag's),
    # so the limit meters what the run adds while messages say the user's number
    disk_base: int = 0

    @property
    def disk_total(self) -> int:
        """The size at which the tree being metered is over `disk`."""
        return self.disk + self.disk_base

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        if not self.disk_base:
            del out["disk_base"]
        return out

    def updated(self, values: dict[str, Any], where: str) -> Limits:
        """These limits with `values` (NAME: VALUE as text or number) applied; a bad one is a FatalError."""
        if not isinstance(values, dict):
            raise FatalError(f"{where}: expected a mapping of limit names to values, got {values!r}",
                             hint=f"limits: {', '.join(HELP)}")
        changes: dict[str, Any] = {str(name): parse_value(str(name), value, where) for name, value in values.items()}
        return replace(self, **changes)


def parse_value(name: str, value: Any, where: str) -> int | float:
    """One limit's value as a number: sizes in bytes, times in seconds, counts as they are."""
    known = [f.name for f in fields(Limits) if f.name != "disk_base"]
    if name not in known:
        raise FatalError(f"{where}: unknown limit {name!r}", hint=f"known limits: {', '.join(known)}")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise FatalError(f"{where}: limit {name} must be a number or text like 4G or 90s, got {value!r}")
    text = str(value)
    number: float | None = None
    if name in SIZES:
        found = _SIZE.match(text)
        number = int(found.group(1)) * _UNITS[found.group(2).upper()] if found else None
    elif name in TIMES:
        found = _TIME.match(text)
        number = float(found.group(1)) * {"s": 1, "m": 60, "h": 3600, None: 1}[found.group(2)] if found else None
    elif re.fullmatch(r"\s*\d+\s*", text):
        number = int(text)
    if number is None or number <= 0:
        kind = "a size like 512M or 4G" if name in SIZES else "a duration like 90s or 10m" if name in TIMES \
            else "a whole number"
        raise FatalError(f"{where}: limit {name} must be {kind} above 0, got {value!r}")
    return number


def parse_flags(flags: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """`--limit NAME=VALUE` flags as a mapping (checked when applied)."""
    out: dict[str, Any] = {}
    for flag in flags:
        name, sep, value = flag.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise FatalError(f"--limit {flag!r}: expected NAME=VALUE, e.g. --limit memory=2G",
                             hint=f"limits: {', '.join(HELP)}")
        out[name.strip()] = value.strip()
    return out


def shown(name: str, value: float) -> str:
    """A limit's value as a user writes it: 4G, 90s, 512."""
    if name in SIZES:
        for unit in ("T", "G", "M", "K"):
            if value >= _UNITS[unit] and value % _UNITS[unit] == 0:
                return f"{int(value // _UNITS[unit])}{unit}"
        return str(int(value))
    return f"{value:g}s" if name in TIMES else f"{value:g}"


def resolve(runbook_values: Any, flags: dict[str, Any] | None, where: str = "limits.sandbox", *,
            trusted: bool = True, notes: list[str] | None = None) -> Limits:
    """The defaults, the CLI's `--limit` flags over them, and the runbook's `limits.sandbox` under
    those: a runbook may lower a limit, never raise it past the flag (or, when it is not agentbook's
    own, past the default). A runbook value capped is noted in `notes`."""
    base = Limits()
    flagged = base.updated(flags or {}, "--limit")
    if runbook_values is None:
        return flagged
    asked = Limits().updated(runbook_values, where)
    given = set((flags or {}).keys())
    changes: dict[str, Any] = {}
    for name in sorted({str(k) for k in runbook_values}):
        want, ceiling = getattr(asked, name), getattr(flagged, name)
        if (name not in given and trusted) or want <= ceiling:
            changes[name] = want
        else:
            by = "the --limit given" if name in given else \
                "the runner's default for a repository's runbook (raise it with --limit)"
            if notes is not None:
                notes.append(f"runbook limits.sandbox.{name} {shown(name, want)} is above {by}: "
                             f"capped at {shown(name, ceiling)}")
            changes[name] = ceiling
    return replace(flagged, **changes)
