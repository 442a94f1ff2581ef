"""The jail every sandboxed command runs in: bubblewrap with no capabilities, every namespace, a seccomp
filter and resource limits, seeing only what a build needs.

What the command sees: /usr (and the /bin, /lib* links or folders), /etc without the files only root
may read (shadow, sudoers, private keys ...), this Python and agentbook's install, all read-only; a
fresh /proc (pid namespace: no host process is visible) with /proc/sys, /proc/fs and friends
read-only; a minimal /dev that is read-only but for a small /dev/shm; a private, size-capped /tmp; the
root read-write. Nothing of /root, /home, /run, /var, /sys or any host socket is there.

Why each flag: root keeps every capability inside bubblewrap unless they are dropped
(`--cap-drop ALL`); as uid 0 even without capabilities the command could still write global sysctls
such as kernel.core_pattern (a root escape: the kernel runs that program as root outside every
namespace), so /proc/sys is bound read-only again; `--disable-userns` stops the command from making a
user namespace of its own to get capabilities back; the seccomp filter (libseccomp through the
`pyseccomp` binding) refuses the calls a confined build never needs and that are the usual ways out
or up: ptrace, mount, namespaces, keyrings, bpf, perf, kexec, modules, io_uring. Rlimits are set by
the shell that starts the command, as hard limits it cannot raise again.
"""

from __future__ import annotations

import atexit
import errno
import functools
import itertools
import os
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from agentbook.session import gitview
from agentbook.session.limits import KIB, Limits

BWRAP = "/usr/bin/bwrap"
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_HIDDEN = ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/sudoers", "/etc/sudoers.d",
              "/etc/ssl/private", "/etc/security/opasswd", "/etc/.pwd.lock")
# Docker's lists: parts of /proc that are read-only, and parts that are hidden outright.
PROC_READ_ONLY = ("sys", "fs", "sysrq-trigger")  # bubblewrap covers bus and irq itself
PROC_HIDDEN = ("kcore", "keys", "timer_list", "sched_debug", "latency_stats", "timer_stats", "kallsyms",
               "acpi", "scsi", "asound")
SHM_BYTES = 64 * 1024 * 1024
# Host places a caller may never show in the jail (`host_ro`): binding one of these, or a folder above
# one, would lay the host's own over what the jail hides or replaces (/etc/shadow, the runner's /proc,
# host sockets under /run, /root); the kernel's and the system's interfaces are refused below too.
NEVER_SHOWN = ("/etc", "/proc", "/dev", "/sys", "/tmp", "/run", "/var", "/root", "/home", "/boot")
NEVER_BELOW = ("/etc", "/proc", "/dev", "/sys", "/run", "/var/run", "/boot")
BLOCKED_SYSCALLS = (
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsmount", "fsconfig",
    "fspick", "mount_setattr", "unshare", "setns",
    "keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot",
    "swapon", "swapoff", "acct", "quotactl", "quotactl_fd", "open_by_handle_at", "name_to_handle_at",
    "syslog", "lookup_dcookie", "uselib", "vhangup", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "iopl", "ioperm",
)
CLONE_NAMESPACES = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000, 0x00000080)
# A child of the caller's parent: a daemon of the agent's tests made itself a child of a gate's shell, where a
# shell's sweep of what earlier commands left running (processes whose parent has exited) does not look.
CLONE_PARENT = 0x00008000
TIOCSTI, TIOCLINUX = 0x5412, 0x541C
# Calls that give a file its mode, and which argument holds it: none may set a set-user/group-id bit.
MODE_ARGS = (("chmod", 1), ("fchmod", 1), ("fchmodat", 2), ("fchmodat2", 2), ("open", 2), ("openat", 3),
             ("creat", 1), ("mknod", 1), ("mknodat", 2))
RLIMIT_FAILED = 125  # the exit code when the shell could not set the limits (nothing else ran)
# A read-only bind only this jail makes (of /dev/null, in the jail's own /dev): `inside()` reads it from
# the kernel's mount table, which no file in a repository and no environment variable can write, and
# where only root of the host could mount.
JAIL_MARK = "/dev/agentbook-jail"


class JailUnavailable(Exception):
    """The jail cannot be built here; `str(err)` says why."""


@dataclass(frozen=True)
class Call:
    """One jailed command, ready for `subprocess.Popen(argv, pass_fds=pass_fds)`.

    `close()` releases the seccomp pipe in this process and removes the call's cgroup."""

    argv: list[str]
    pass_fds: tuple[int, ...]
    cgroup: CallGroup | None
    refused_before: int = 0  # the forks the cgroup had refused before this call (it may be a pooled one)

    def reached_process_limit(self) -> bool:
        """Whether the kernel refused a fork of this call for its `processes` limit (the pids cgroup's count,
        which nothing in the jail can lower; False where there is no pids cgroup). Call before close()."""
        return self.cgroup is not None and self.cgroup.refused_forks() > self.refused_before

    def close(self) -> None:
        for fd in self.pass_fds:
            try:
                os.close(fd)
            except OSError:
                pass
        if self.cgroup is not None:
            _release_cgroup(self.cgroup)


def bwrap_path() -> str | None:
    return shutil.which("bwrap") or (BWRAP if os.path.exists(BWRAP) else None)


@functools.lru_cache(maxsize=1)
def seccomp_program() -> bytes:
    """The compiled filter (BPF), built once per process; JailUnavailable without libseccomp."""
    try:
        import pyseccomp as sc
    except (ImportError, OSError) as err:  # the binding loads libseccomp.so.2 when imported
        raise JailUnavailable(f"no seccomp library: {err} (install libseccomp2 and the pyseccomp package)") from err
    flt = sc.SyscallFilter(sc.ALLOW)
    for name in BLOCKED_SYSCALLS:
        _rule(sc, flt, sc.ERRNO(errno.EPERM), name)
    for flag in (*CLONE_NAMESPACES, CLONE_PARENT):  # fork and threads stay allowed; a new namespace does not
        _rule(sc, flt, sc.ERRNO(errno.EPERM), "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    _rule(sc, flt, sc.ERRNO(errno.ENOSYS), "clone3")  # its flags sit in memory a filter cannot read; libc falls back to clone
    for request in (TIOCSTI, TIOCLINUX):  # typing into the runner's terminal
        _rule(sc, flt, sc.ERRNO(errno.EPERM), "ioctl", sc.Arg(1, sc.MASKED_EQ, 0xFFFFFFFF, request))
    # The jail's files are the host's, owned by the runner's user (root): a set-id bit on one (`chmod
    # 4755 sh`) was a root shell for any user of the host who reaches the worktree or the run folder.
    for name, mode_arg in MODE_ARGS:
        for bit in (stat.S_ISUID, stat.S_ISGID):
            _rule(sc, flt, sc.ERRNO(errno.EPERM), name, sc.Arg(mode_arg, sc.MASKED_EQ, bit, bit))
    _rule(sc, flt, sc.ERRNO(errno.ENOSYS), "openat2")  # its mode sits in memory a filter cannot read
    # Limits of its own (pid 0, as setrlimit and `ulimit` ask) only: every process of a jail is the same
    # user, and a daemon of the agent's lowered a later check's open files to 0, which `! cmd` made a pass.
    _rule(sc, flt, sc.ERRNO(errno.EPERM), "prlimit64", sc.Arg(0, sc.NE, 0))
    with tempfile.TemporaryFile() as out:
        flt.export_bpf(out)
        out.seek(0)
        return out.read()


def _rule(sc: object, flt: object, action: int, name: str, *args: object) -> None:
    try:
        flt.add_rule(action, name, *args)  # type: ignore[attr-defined]
    except (ValueError, RuntimeError, OSError):
        pass  # a call this libseccomp or architecture does not know cannot be made here either


def hidden_etc() -> list[str]:
    """Paths under /etc a plain user could not read (so root should not either), plus the known ones."""
    return list(_hidden_etc())


@functools.lru_cache(maxsize=1)
def _hidden_etc() -> tuple[str, ...]:
    out: set[str] = {p for p in ETC_HIDDEN if os.path.lexists(p) and not os.path.islink(p)}
    for dirpath, dirnames, filenames in os.walk("/etc"):
        keep = []
        for name in dirnames:
            path = os.path.join(dirpath, name)
            mode = _mode(path)
            if mode is not None and not stat.S_ISLNK(mode) and mode & 0o005 != 0o005:
                out.add(path)
            else:
                keep.append(name)
        dirnames[:] = keep
        for name in filenames:
            path = os.path.join(dirpath, name)
            mode = _mode(path)
            if mode is not None and stat.S_ISREG(mode) and not mode & stat.S_IROTH:
                out.add(path)
    return tuple(sorted(p for p in out if not any(p.startswith(q + "/") for q in out)))


def _mode(path: str) -> int | None:
    try:
        return os.lstat(path).st_mode
    except OSError:
        return None


def install_paths(root: Path) -> list[str]:
    """This Python and agentbook's install, when /usr does not already hold them (gates and the agent
    call `agentbook` and `python` from there); never a place inside the root, which is bound anyway."""
    import agentbook
    from agentbook.shipped import shipped_root

    places = {sys.prefix, sys.base_prefix, os.path.dirname(os.path.realpath(sys.executable)),
              str(Path(agentbook.__file__).resolve().parent.parent)}
    shipped = shipped_root()
    if shipped is not None:  # only the catalog and the file that marks a checkout: its top may hold anything
        places |= {str(shipped / d) for d in ("skills", "runbooks", "schemas", "pyproject.toml")
                   if (shipped / d).exists()}
    real_root = str(root)
    out: list[str] = []
    for place in sorted(os.path.realpath(p) for p in places):
        if place == "/" or _under(place, "/usr") or _under(place, real_root) or any(_under(place, p) for p in out):
            continue
        if os.path.exists(place):
            out.append(place)
    return out


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def ulimit_line(limits: Limits) -> str:
    """The shell line that sets the limits as hard limits before the command runs."""
    return (f"ulimit -HS -u {limits.processes} -n {limits.open_files} -f {max(1, limits.file_size // KIB)} "
            f"-d {max(1, limits.memory // KIB)} -t {max(1, int(limits.cpu + 0.999))} -c 0 "
            f"|| exit {RLIMIT_FAILED}")


def bwrap_argv(root: Path, limits: Limits, read_only: list[str], seccomp_fd: int, installs: bool = True,
               host_ro: list[str] | None = None, ro_at: list[tuple[str, str]] | None = None,
               options: list[str] | None = None) -> list[str]:
    """bubblewrap's part of the argv, up to and including `--`; `options` go last before it."""
    bwrap = bwrap_path()
    if bwrap is None:
        raise JailUnavailable("bubblewrap (bwrap) is not installed")
    cmd = [bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--cap-drop", "ALL",
           "--die-with-parent", "--new-session", "--hostname", "sandbox"]
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            cmd += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            cmd += ["--ro-bind", path, path]
    cmd += ["--ro-bind", "/etc", "/etc"]
    for path in hidden_etc():
        cmd += ["--tmpfs", path, "--remount-ro", path] if os.path.isdir(path) else ["--ro-bind", "/dev/null", path]
    cmd += ["--proc", "/proc"]
    for name in PROC_READ_ONLY:
        cmd += ["--ro-bind-try", f"/proc/{name}", f"/proc/{name}"]
    for name in PROC_HIDDEN:
        path = f"/proc/{name}"
        if os.path.isdir(path):
            cmd += ["--tmpfs", path, "--remount-ro", path]
        elif os.path.exists(path):
            cmd += ["--ro-bind", "/dev/null", path]
    cmd += ["--dev", "/dev", "--size", str(SHM_BYTES), "--tmpfs", "/dev/shm",
            "--ro-bind", "/dev/null", JAIL_MARK, "--remount-ro", "/dev",  # the mark: see inside()
            "--size", str(limits.tmp), "--tmpfs", "/tmp"]
    for path in host_ro or []:
        _check_shown(path)
    for path in [*(install_paths(root) if installs else []), *(host_ro or [])]:
        cmd += ["--ro-bind", path, path]
    for source, target in ro_at or []:
        cmd += ["--ro-bind", source, target]
    cmd += ["--bind", str(root), str(root)]
    for path in read_only:
        if not os.path.islink(path):
            cmd += ["--ro-bind", path, path]
    cmd += gitview.cover(root)  # after the root's bind: the git folder is seen through a sanitized view
    cmd += options or []
    # Last of all, the jail's own root read-only: it is a tmpfs of the jail's root user, so a process there
    # could remove the links /bin, /lib64 (the ELF interpreter's folder) ... and put its own in their place,
    # and every later program of the call (a gate's protected check, its `#!/bin/sh`) would run its code.
    cmd += ["--remount-ro", "/", "--chdir", str(root), "--seccomp", str(seccomp_fd), "--"]
    return cmd


def _check_shown(path: str) -> None:
    """Refuse (JailUnavailable) a host folder whose showing would undo the jail; see NEVER_SHOWN."""
    real = os.path.realpath(path)
    if any(_under(place, real) for place in NEVER_SHOWN) or any(_under(real, place) for place in NEVER_BELOW):
        raise JailUnavailable(f"refusing to show {path} in the sandbox: it would show what the sandbox hides")


_counter = itertools.count()


def prepare(root: Path, limits: Limits, *, shell: str | None = None, argv: list[str] | None = None,
            read_only: list[str] | None = None, installs: bool = True, cgroup: bool = True,
            host_ro: list[str] | None = None, ro_at: list[tuple[str, str]] | None = None,
            options: list[str] | None = None) -> Call:
    """A jailed call of `shell` (a bash command line) or `argv` (run as is) in `root`.

    `installs=False` leaves this Python and agentbook out (a shell-only jail); `cgroup=False` skips the
    pids cgroup (for a caller that starts bubblewrap as another user); `host_ro` are host paths the
    caller chose to show read-only (the relay's socket folder); `ro_at` are (host path, jail path) pairs
    shown read-only at another path (the warm worker's folder at `agentbook.warm.JAIL_DIR`); `options` are
    more of bubblewrap's (a gate's separation library, `agentbook.session.gatesep`)."""
    program = seccomp_program()
    if shell is not None:
        inner = ["/bin/bash", "-c", ulimit_line(limits) + "\n" + shell]
    else:
        inner = ["/bin/bash", "-c", ulimit_line(limits) + '\nexec "$@"', "agentbook-jail", *(argv or [])]
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, program)  # a few hundred bytes: well inside the pipe's buffer
    finally:
        os.close(write_fd)
    try:
        cmd = bwrap_argv(root.resolve(), limits, read_only or [], read_fd, installs, host_ro, ro_at, options) + inner
        group = _new_cgroup(limits) if cgroup else None
    except BaseException:
        os.close(read_fd)
        raise
    if group is None:
        return Call(cmd, (read_fd,), None)
    # the shell joins the cgroups, then becomes bubblewrap: every process is counted
    return Call([*group.join_command(), *cmd], (read_fd,), group, group.refused_forks())


# -- processes as root: a pids cgroup ----------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def pids_cgroup_base() -> Path | None:
    """Where this process may make pids cgroups (root only; RLIMIT_NPROC does not bind root), or None."""
    if os.geteuid() != 0:
        return None
    for base in (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")):
        if not (base / "cgroup.procs").exists():
            continue
        if base.name != "pids" and "pids" not in _read(base / "cgroup.subtree_control").split():
            continue
        probe = base / f"agentbook-probe-{os.getpid()}"
        try:
            probe.mkdir()
        except OSError:
            continue
        works = (probe / "pids.max").exists()
        _remove_cgroup(probe)
        if works:
            _sweep(base)
            return base
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


@functools.lru_cache(maxsize=1)
def memory_cgroup_base() -> Path | None:
    """Where this process may make memory cgroups (root only), or None: cgroup v1's memory hierarchy at
    this process's own place in it, or the pids base when that is a v2 group with the memory controller."""
    if os.geteuid() != 0:
        return None
    pids = pids_cgroup_base()
    if pids is not None and pids.name != "pids" and "memory" in _read(pids / "cgroup.subtree_control").split():
        return pids  # v2: one group per call carries both limits
    own = next((line.split(":", 2)[2] for line in _read(Path("/proc/self/cgroup")).splitlines()
                if line.split(":")[1:2] == ["memory"]), None)
    if own is None:
        return None
    base = Path("/sys/fs/cgroup/memory") / own.strip().lstrip("/")
    probe = base / f"agentbook-probe-{os.getpid()}"
    try:
        probe.mkdir()
    except OSError:
        return None
    works = (probe / "memory.limit_in_bytes").exists()
    _remove_cgroup(probe)
    if not works:
        return None
    _sweep(base)
    return base


@dataclass(frozen=True)
class CallGroup:
    """The cgroups of one call: `pids` caps its processes; `memory` (None where none can be made) caps the
    memory of all of them together, which a per-process limit cannot (512 processes x 4G)."""

    pids: Path
    memory: Path | None = None

    def procs_files(self) -> list[Path]:
        groups = [self.pids, *([self.memory] if self.memory not in (None, self.pids) else [])]
        return [g / "cgroup.procs" for g in groups]

    def idle(self) -> bool:
        return not any(_read(f).strip() for f in self.procs_files())

    def refused_forks(self) -> int:
        """How many forks the pids group refused for its limit so far (`max` in pids.events, v1 and v2)."""
        for line in _read(self.pids / "pids.events").splitlines():
            name, _, count = line.partition(" ")
            if name == "max" and count.strip().isdigit():
                return int(count)
        return 0

    def join_command(self) -> list[str]:
        """`sh -c` that moves itself into every group, then becomes the call (exit 125 if it cannot)."""
        joins = " && ".join(f"echo $$ > {shlex.quote(str(f))}" for f in self.procs_files())
        return ["/bin/sh", "-c", joins + ' || exit 125; exec "$@"', "agentbook-cgroup"]


def _new_cgroup(limits: Limits) -> CallGroup | None:
    """The cgroups for one call: an idle pair from the pool (mkdir and rmdir cost more than the call's own
    exec on a busy machine), or new ones named after this process."""
    base = pids_cgroup_base()
    if base is None:
        return None
    group = _idle_from_pool()
    if group is None:
        name = f"agentbook-{os.getpid()}-{next(_counter)}"
        group = CallGroup(base / name, _make_memory_group(name, base / name))
        try:
            group.pids.mkdir()
        except OSError:
            _remove_group(group)
            return None
    try:
        (group.pids / "pids.max").write_text(str(limits.processes))
    except OSError:
        _remove_group(group)
        return None
    if group.memory is not None and not _limit_memory(group.memory, limits.memory):
        _remove_cgroup(group.memory)  # the per-process limit still holds; the call is not left unbounded
        group = CallGroup(group.pids)
    return group


def _make_memory_group(name: str, pids: Path) -> Path | None:
    base = memory_cgroup_base()
    if base is None:
        return None
    path = base / name
    if path == pids:
        return path
    try:
        path.mkdir()
    except OSError:
        return None
    return path


def _limit_memory(group: Path, limit: int) -> bool:
    """The call's memory, swap included, at most `limit` bytes; False when the kernel refused it."""
    if (group / "memory.max").exists():  # v2
        names = ["memory.max", "memory.swap.max"]
        values = [str(limit), "0"]
    else:  # v1: memsw (memory + swap) may never be below the plain limit, so the order depends on the move
        names = ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]
        values = [str(limit), str(limit)]
        current = _read(group / "memory.limit_in_bytes").strip()
        if current.isdigit() and int(current) < limit:
            names, values = names[::-1], values[::-1]
    for name, value in zip(names, values, strict=True):
        try:
            (group / name).write_text(value)
        except FileNotFoundError:
            continue  # no swap accounting on this kernel: the plain limit is what there is
        except OSError:
            return False
    return True


def _release_cgroup(group: CallGroup) -> None:
    """Back to the pool; it is reused once no process is left in it (the pid namespace of the call that
    had it takes a moment to go after bubblewrap exits)."""
    with _pool_lock:
        _pool.append(group)


def pooled_cgroups() -> list[CallGroup]:
    """The cgroups of finished calls, kept for reuse (each empty once its call's processes are gone)."""
    with _pool_lock:
        return list(_pool)


def _idle_from_pool() -> CallGroup | None:
    with _pool_lock:
        for i, group in enumerate(_pool):
            if group.idle():
                return _pool.pop(i)
    return None


def _drain_pool() -> None:
    with _pool_lock:
        groups, _pool[:] = list(_pool), []
    for group in groups:
        for path in {group.pids, *([group.memory] if group.memory else [])}:
            try:
                path.rmdir()
            except OSError:
                pass


def _remove_group(group: CallGroup) -> None:
    for path in {group.pids, *([group.memory] if group.memory else [])}:
        _remove_cgroup(path)


def _sweep(base: Path) -> None:
    """Remove empty call cgroups left by agentbook processes that are gone (a runner killed with -9)."""
    for entry in base.glob("agentbook-*-*"):
        pid = entry.name.split("-")[1]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            try:
                entry.rmdir()
            except OSError:
                pass


_pool: list[CallGroup] = []
_pool_lock = threading.Lock()
atexit.register(_drain_pool)


def _remove_cgroup(path: Path) -> None:
    """rmdir once the killed processes are gone (the kernel takes a moment to reap a pid namespace)."""
    for _ in range(100):
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.01)
    threading.Thread(target=_remove_later, args=(path,), daemon=True).start()


def _remove_later(path: Path) -> None:
    for _ in range(60):
        time.sleep(1)
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            continue


# -- does it work here --------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def problem() -> str | None:
    """Why the jail cannot run here (None when it can): a real jailed `true`, run once per process."""
    if bwrap_path() is None:
        return "bubblewrap (bwrap) is not installed"
    with tempfile.TemporaryDirectory(prefix="agentbook-jail-probe-") as tmp:
        try:
            call = prepare(Path(tmp), Limits())
        except JailUnavailable as err:
            return str(err)
        try:
            probe = subprocess.run(call.argv, pass_fds=call.pass_fds, capture_output=True, timeout=20,
                                   check=False, cwd=tmp, env={"PATH": "/usr/bin:/bin"}, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as err:
            return f"bubblewrap did not run: {err}"
        finally:
            call.close()
    if probe.returncode != 0:
        said = probe.stderr.decode("utf-8", "replace").strip().splitlines()
        return f"bubblewrap failed here (exit {probe.returncode}): {said[-1] if said else 'no message'}"
    return None


def works() -> bool:
    return problem() is None


# -- is this process itself in the jail ------------------------------------------------------------------

def inside() -> str | None:
    """Why this process is NOT inside agentbook's jail (None when it is), from what the kernel says of it.

    All of: the jail's mark is a read-only mount at JAIL_MARK in this process's mount table (a host has
    none: only root of the host could mount there, and a repository's files or an environment variable
    cannot make a mount), no capabilities, no_new_privs, and a seccomp filter. A caller that runs code
    unjailed on this answer (a nested jail being impossible in the jail) does so only where the code could
    already run anything: the jail's own limits, filter and namespaces hold it."""
    mounts = _read(Path("/proc/self/mountinfo")).splitlines()
    marked = any(len(f) > 5 and f[4] == JAIL_MARK and "ro" in f[5].split(",") for f in (m.split() for m in mounts))
    if not marked:
        return f"no sandbox mark mounted at {JAIL_MARK}"
    status = dict(line.split(":", 1) for line in _read(Path("/proc/self/status")).splitlines() if ":" in line)
    seen = {key: status.get(key, "").strip() for key in ("CapEff", "NoNewPrivs", "Seccomp")}
    if seen["CapEff"].strip("0") or seen["CapEff"] == "" or seen["NoNewPrivs"] != "1" or seen["Seccomp"] != "2":
        return "a sandbox mark, but not the sandbox's confinement (" + ", ".join(f"{k} {v or '?'}" for k, v in seen.items()) + ")"
    return None
