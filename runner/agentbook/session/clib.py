"""agentbook's small C libraries (`agentbook/data/<name>.c`), compiled here with the host's C compiler,
once per process and name, into a folder of this process's own (mode 0700, removed at exit), to be shown
read-only in a jail and preloaded into one program there: `gatesep` (a gate's shell,
`agentbook.session.gatesep`) and `agentseal` (Claude Code, preloaded by the runbook runner's agent CLI)."""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"

_lock = threading.Lock()


def build(name: str) -> tuple[Path | None, str | None]:
    """(the compiled library, None) or (None, why it could not be built)."""
    with _lock:
        return _build(name)


@functools.cache
def _build(name: str) -> tuple[Path | None, str | None]:
    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if compiler is None:
        return None, f"there is no C compiler (cc) to build agentbook's {name} library (install gcc)"
    place = _executable_place()
    if place is None:
        return None, f"no folder to build agentbook's {name} library in that allows running code (/tmp is noexec)"
    folder = Path(tempfile.mkdtemp(prefix=f"agentbook-{name}-", dir=place))  # 0700, this process's own
    atexit.register(shutil.rmtree, folder, True)
    out = folder / f"{name}.so"
    try:
        done = subprocess.run([compiler, "-shared", "-fPIC", "-O2", "-o", str(out), str(DATA / f"{name}.c")],
                              capture_output=True, text=True, timeout=120, check=False,
                              env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C"},
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as err:
        return None, f"{compiler} could not build agentbook's {name} library: {err}"
    if done.returncode != 0 or not out.is_file():
        said = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return None, f"{compiler} could not build agentbook's {name} library: {said}"
    out.chmod(0o555)
    return out, None


def _executable_place() -> str | None:
    """A folder whose mount lets a library be mapped executable: the temporary folder, else the user's
    cache (a host may mount /tmp noexec; a library there would not load in the jail, which shows it with
    its mount's flags)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "agentbook"
    for place in (tempfile.gettempdir(), str(cache)):
        try:
            Path(place).mkdir(mode=0o700, parents=True, exist_ok=True)
            if not os.statvfs(place).f_flag & os.ST_NOEXEC:
                return place
        except OSError:
            continue
    return None

