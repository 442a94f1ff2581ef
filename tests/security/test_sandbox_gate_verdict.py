"""A gate's verdict against the code it runs: each program a gate's shell runs is in a Landlock domain of its
own (agentbook.session.gatesep), so none can rewrite the shell's memory, bubblewrap's init's (pid 1, whose exit
status is the gate's) or another program's, signal its way to a pass, or escape through a deep subshell.

Each attack is also run in the same jail without the separation, where the host lets it work (no Yama), to show
it is a real one: there it chose the gate's result."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from sandbox_kit import make_root, needs_jail

from agentbook.runbooks.gates import run_gate
from agentbook.session import gatesep, jail
from agentbook.session.limits import Limits

pytestmark = [needs_jail,
              pytest.mark.skipif(gatesep.separation().library is None,
                                 reason="no Landlock (ABI 2+) or no C compiler here: gates rely on Yama or say so")]

PATCH_PID_1 = """import os
fields = open("/proc/1/syscall").read().split()
with open("/proc/1/mem", "r+b", buffering=0) as mem:
    mem.seek(int(fields[-1], 16))
    mem.write(bytes.fromhex("31ffb8e70000000f05"))  # exit_group(0) where pid 1 returns from its syscall
"""

# Rewrites every `exit 3` in the writable memory of the shell (its pid as argv[1], else the parent).
REWRITE_SHELL = """import os, re, sys
pid = int(sys.argv[1]) if len(sys.argv) > 1 else os.getppid()
try:
    maps = open(f"/proc/{pid}/maps").read()
    mem = open(f"/proc/{pid}/mem", "r+b", buffering=0)
except OSError as err:
    raise SystemExit(f"attack refused: {err}")
done = 0
for line in maps.splitlines():
    span, perms = line.split()[:2]
    if perms.startswith("rw"):
        low, high = (int(x, 16) for x in span.split("-"))
        try:
            mem.seek(low)
            data = mem.read(high - low)
        except OSError:
            continue
        for found in re.finditer(rb"exit 3", data):
            mem.seek(low + found.start())
            mem.write(b"exit 0")
            done += 1
print(f"rewrote {done}")
"""

# Every process of the jail whose memory, environment or descriptors this one can open, but its own. (A
# process's fd folder may be listed by its user; what the links lead to is what ptrace's rules guard.)
SCAN = """import os
me = os.getpid()
opened = []
for name in sorted(os.listdir("/proc")):
    if not name.isdigit() or int(name) == me:
        continue
    for what in ("mem", "environ"):
        try:
            open(f"/proc/{name}/{what}", "rb").close()
            opened.append(f"{name}/{what}")
        except OSError:
            pass
    try:
        fds = os.listdir(f"/proc/{name}/fd")
    except OSError:
        fds = []
    for fd in fds:
        for flags in (os.O_WRONLY, os.O_RDONLY):
            try:
                os.close(os.open(f"/proc/{name}/fd/{fd}", flags | os.O_NONBLOCK))
                opened.append(f"{name}/fd/{fd}")
                break
            except OSError:
                pass
print(f"opened {opened}")
"""

NESTED = "( " * 20 + "python3 patch.py; python3 rewrite.py $$" + " )" * 20

ATTACKS = {  # the gate's script; its last line is the check that fails
    "pid 1's exit status": "python3 patch.py\necho the protected check fails\nexit 3",
    "the shell's unread lines": "python3 rewrite.py\necho the protected check fails\nexit 3",
    "from a subshell 20 deep": f"{NESTED}\necho the protected check fails\nexit 3",
    "from a pipeline and a command substitution": "echo $(python3 rewrite.py $$) | cat\npython3 patch.py | cat\n"
                                                   "echo the protected check fails\nexit 3",
    "from a script with no #! line (bash runs it itself)": "./no_shebang\necho the protected check fails\nexit 3",
    "of a script the gate runs (bash)": "bash check.sh",
    "of a script the gate runs (sh)": "sh check.sh",
    "of make, through its recipe's shell": "make -s -f check.mk || exit 3",
    "from the background, while the check runs": "python3 -c 'import time; time.sleep(1); exec(open(\"patch.py\").read())' &\n"
                                                 "sleep 2\necho the protected check fails\nexit 3",
}


def _root(tmp_path: Path) -> Path:
    root = make_root(tmp_path)
    (root / "patch.py").write_text(PATCH_PID_1)
    (root / "rewrite.py").write_text(REWRITE_SHELL)
    (root / "scan.py").write_text(SCAN)
    (root / "check.sh").write_text("python3 rewrite.py\npython3 patch.py\necho the protected check fails\nexit 3\n")
    (root / "check.mk").write_text("all:\n\t@python3 rewrite.py $$PPID; true\n"
                                   "\t@echo the protected check fails; exit 3\n")
    (root / "no_shebang").write_text("python3 patch.py\npython3 rewrite.py $PPID\n")
    (root / "no_shebang").chmod(0o755)
    return root


def _unseparated(command: str, root: Path) -> tuple[int, str]:
    """The same jail without the separation: what a gate was before."""
    call = jail.prepare(root, Limits(), shell=command)
    try:
        done = subprocess.run(call.argv, pass_fds=call.pass_fds, capture_output=True, text=True, timeout=60,
                              cwd=root, env={"PATH": "/usr/bin:/bin"}, stdin=subprocess.DEVNULL, check=False)
    finally:
        call.close()
    return done.returncode, done.stdout + done.stderr


def _attack_works_unseparated() -> bool:
    return platform.machine() == "x86_64" and gatesep.yama_scope() == 0


@pytest.mark.parametrize("script", list(ATTACKS.values()), ids=list(ATTACKS))
def test_code_a_gate_runs_cannot_rewrite_its_verdict(tmp_path: Path, script: str) -> None:
    root = _root(tmp_path)
    if _attack_works_unseparated():
        code, _ = _unseparated(script, root)
        assert code == 0  # the attack is real: without the separation the failing check passed
    gate = run_gate(script, root, protected=[])
    assert gate.exit_code == 3, gate.output
    assert "the protected check fails" in gate.output
    assert "rewrote" not in gate.output or "rewrote 0" in gate.output


def test_no_program_of_a_gate_reaches_another_process(tmp_path: Path) -> None:
    root = _root(tmp_path)
    script = "sleep 30 & ( python3 scan.py ); python3 scan.py | cat; kill $!"
    if _attack_works_unseparated():
        _, said = _unseparated(script, root)
        assert "1/mem" in said  # without the separation pid 1, the shell and the sibling were open
    gate = run_gate(script, root, protected=[])
    assert gate.output.count("opened []") == 2, gate.output


@pytest.mark.parametrize("signal", ["KILL", "STOP", "TERM", "INT"])
def test_a_signal_to_the_shell_never_passes_the_gate(tmp_path: Path, signal: str) -> None:
    root = _root(tmp_path)
    script = f"python3 -c 'import os, signal; os.kill(os.getppid(), signal.SIG{signal}); os.kill(1, signal.SIG{signal})'\n" \
             "sleep 1\necho the protected check fails\nexit 3"
    gate = run_gate(script, root, protected=[], timeout=8)
    assert gate.exit_code != 0, gate.output
    if SCOPED:  # the signal never arrived: the shell ran on to its check
        assert gate.exit_code == 3 and "the protected check fails" in gate.output, gate.output
        assert "PermissionError" in gate.output


SCOPED = gatesep.landlock_abi() >= 6  # Landlock scopes signals: a program signals only what it started
# The agent's "tests": they pass, and leave a daemon that kills whatever runs `find_todo` next.
DAEMON = """import os, time
if os.fork() == 0:
    os.setsid()
    tried = refused = 0
    for _ in range(400):
        for pid in (int(p) for p in os.listdir("/proc") if p.isdigit()):
            try:
                if open(f"/proc/{pid}/cmdline", "rb").read().split(b"\\0")[1:2] == [b"find_todo.py"]:
                    tried += 1
                    os.kill(pid, 9)
            except PermissionError:
                refused += 1
            except OSError:
                pass
        if tried:
            print(f"daemon: tried {tried}, refused {refused}", flush=True)
            break
        time.sleep(0.01)
    os._exit(0)
print("tests ok")
"""
# The protected check whose pass is a program failing: it finds the TODO that is there.
FIND_TODO = "import sys, time\ntime.sleep(2)\nsys.exit(0 if 'TODO' in open('src.txt').read() else 1)\n"
NOT_CHECK = "python3 tests.py\n! python3 find_todo.py"
# The same code as a job of the gate's line, running beside the check (what a gate's shell ends before it starts
# a program is what its parent left: test_sandbox_gate_leftovers.py).
AS_JOB = ("if os.fork() == 0:\n    os.setsid()\n", "if True:\n")
JOB_CHECK = "python3 tests.py &\n! python3 find_todo.py"


@pytest.mark.skipif(not SCOPED, reason="Landlock before ABI 6 does not scope signals (docs/SECURITY.md)")
def test_code_a_gate_ran_cannot_kill_a_later_check_into_passing(tmp_path: Path) -> None:
    """`! cmd` passes when cmd dies: a daemon the agent's tests left killed the protected check that ran after
    them, and the gate passed with a TODO in the source. Each program's domain is scoped for signals now."""
    root = _root(tmp_path)
    (root / "tests.py").write_text(DAEMON)
    (root / "find_todo.py").write_text(FIND_TODO)
    (root / "src.txt").write_text("def f():\n    pass  # TODO\n")
    if _attack_works_unseparated():
        code, said = _unseparated(NOT_CHECK, root)
        assert code == 0, said  # the attack is real: the check was killed, and `!` made that a pass
    gate = run_gate(NOT_CHECK, root, protected=[], timeout=30)
    assert gate.exit_code == 1, gate.output
    assert "tests ok" in gate.output
    (root / "tests.py").write_text(DAEMON.replace(*AS_JOB))
    beside = run_gate(JOB_CHECK, root, protected=[], timeout=30)
    assert beside.exit_code == 1 and "daemon: tried 1, refused 1" in beside.output, beside.output


# The same daemon, lowering the check's open files to none rather than killing it (Landlock does not govern
# prlimit; the seccomp filter lets a process set only its own limits).
LIMITER = DAEMON.replace("os.kill(pid, 9)", "__import__('resource').prlimit(pid, __import__('resource').RLIMIT_NOFILE, (0, 0))")


def test_code_a_gate_ran_cannot_lower_a_later_checks_limits(tmp_path: Path) -> None:
    root = _root(tmp_path)
    (root / "tests.py").write_text(LIMITER.replace(*AS_JOB))
    (root / "find_todo.py").write_text(FIND_TODO)
    (root / "src.txt").write_text("def f():\n    pass  # TODO\n")
    gate = run_gate(JOB_CHECK + " || echo the check found the TODO\nulimit -n 64 && python3 -c 'import resource; resource.setrlimit("
                    "resource.RLIMIT_NOFILE, (32, 32)); print(\"own limit\", resource.getrlimit(resource.RLIMIT_NOFILE))'"
                    "\nexit 7", root, protected=[], timeout=30)
    assert "daemon: tried 1, refused 1" in gate.output, gate.output  # it found the check, and was refused
    assert "the check found the TODO" in gate.output, gate.output
    assert "own limit (32, 32)" in gate.output and gate.exit_code == 7, gate.output


@pytest.mark.skipif(not SCOPED, reason="Landlock before ABI 6 does not scope signals (docs/SECURITY.md)")
def test_a_gate_still_signals_what_its_shell_started(tmp_path: Path) -> None:
    """The shell's builtin kill, the system's kill and pkill run by a shell, a program killing its own child,
    `timeout`, and a script killing its own background job all work; a program killing a sibling it did not
    start is what the scope refuses."""
    root = _root(tmp_path)
    script = ("sleep 30 & kill %1; wait $! || echo builtin kill\n"
              "sleep 31 & until pgrep -x sleep >/dev/null; do :; done; pkill -x sleep; wait $! || echo pkill\n"
              "sleep 32 & /usr/bin/kill $!; wait $! || echo system kill\n"
              "sh -c 'sleep 33 & kill $!; wait $! || echo script killed its job'\n"
              "python3 -c 'import subprocess; p = subprocess.Popen([\"sleep\", \"34\"]); p.kill(); "
              "print(\"own child\", p.wait())'\n"
              "timeout 1 sleep 35 || echo timeout $?\n"
              "sleep 36 & python3 -c 'import os, sys; os.kill(int(sys.argv[1]), 9)' $! 2>&1 | tail -1; kill $!\n"
              "echo done")
    gate = run_gate(script, root, protected=[], timeout=60)
    assert gate.exit_code == 0, gate.output
    for said in ("builtin kill", "pkill", "system kill", "script killed its job", "own child -9", "timeout 124",
                 "PermissionError: [Errno 1] Operation not permitted", "done"):
        assert said in gate.output, gate.output


# The agent's "tests": put a /bin of their own in place of the jail's link (its root was a tmpfs its user
# owned), whose `sh` says the check passed; the protected check.sh after them starts with `#!/bin/sh`.
REPLACE_BIN = """import os
os.makedirs("/tmp/fake", exist_ok=True)
with open("/tmp/fake/sh", "w") as f:
    f.write("#!/usr/bin/python3\\nprint('forged: ok')\\n")
os.chmod("/tmp/fake/sh", 0o755)
try:
    os.remove("/bin")
    os.symlink("/tmp/fake", "/bin")
    print("replaced /bin")
except OSError as err:
    print("refused /bin", err.strerror)
try:
    os.rename("/lib64", "/lib64.old")  # where every program's ELF interpreter is found: put back at once
    os.rename("/lib64.old", "/lib64")
    print("moved /lib64")
except OSError as err:
    print("refused /lib64", err.strerror)
"""


def test_the_code_a_gate_runs_cannot_replace_the_jails_system_links(tmp_path: Path) -> None:
    """/bin, /lib, /lib64 are links on the jail's root, a tmpfs of the jail's (root) user: the agent's tests
    replaced /bin, and the protected `#!/bin/sh` check that followed ran their `sh` and passed. The root
    is read-only now (the ELF interpreter's folder, /lib64, was as open)."""
    root = _root(tmp_path)
    (root / "replace.py").write_text(REPLACE_BIN)
    (root / "check_sh").write_text("#!/bin/sh\necho the protected check fails\nexit 3\n")
    (root / "check_sh").chmod(0o755)
    gate = run_gate("python3 replace.py\n./check_sh", root, protected=[])
    assert gate.exit_code == 3 and "the protected check fails" in gate.output, gate.output
    assert "replaced" not in gate.output and "moved" not in gate.output and "forged" not in gate.output
    assert "refused /bin Read-only file system" in gate.output


def test_a_command_that_cannot_be_separated_stops_the_gate(tmp_path: Path) -> None:
    """Each failed exec leaves the shell one Landlock layer deeper; past the kernel's 16 the next exec is
    refused and the whole gate stopped, so `!` or `|| true` cannot turn the refusal into a pass."""
    root = _root(tmp_path)
    gate = run_gate("shopt -s execfail\nfor i in $(seq 20); do exec /nonexistent; done\n! python3 -c pass\n"
                    "echo survived\nexit 0", root, protected=[])
    assert gate.exit_code == 137 and "survived" not in gate.output
    assert "could not be separated from the gate's shell" in gate.output
    # In a script the gate runs: its shell stops what it started, and itself; under ABI 6's scope it cannot reach
    # the gate's shell, which took `! bash deep.sh` for a pass. A program of a shell's killed by a SIGKILL the
    # shell did not send stops the gate.
    (root / "deep.sh").write_text("shopt -s execfail\nfor i in $(seq 20); do exec /nonexistent; done\n"
                                  "python3 -c pass\necho survived\n")
    nested = run_gate("! bash deep.sh\necho outer passed", root, protected=[])
    assert nested.exit_code == 137 and "outer passed" not in nested.output, nested.output
    assert "could not be separated from the gate's shell" in nested.output


def test_a_shell_the_library_did_not_reach_does_not_run_the_gate(tmp_path: Path) -> None:
    root = _root(tmp_path)
    broken = gatesep.Separation(Path("/dev/null"), None)  # the loader refuses it: the shell runs without it
    call = jail.prepare(root, Limits(), shell=broken.guard() + "echo ran; exit 0", options=broken.bwrap_options())
    try:
        done = subprocess.run(call.argv, pass_fds=call.pass_fds, capture_output=True, text=True, timeout=60,
                              cwd=root, env={"PATH": "/usr/bin:/bin"}, stdin=subprocess.DEVNULL, check=False)
    finally:
        call.close()
    assert done.returncode == gatesep.REFUSED and "ran" not in done.stdout
    assert "gate not run: the programs it runs could reach its shell" in done.stderr


def test_ordinary_gate_work_is_unchanged(tmp_path: Path) -> None:
    """What gates do keeps working in their domains: moves across folders (Landlock's `refer`), C linked
    against libc (the loader is readable), a program killing a sibling, job control, here-documents; and
    the library acts in shells only: make (which starts its recipes with posix_spawn) and a program's own
    posix_spawn work."""
    root = _root(tmp_path)
    (root / "build.mk").write_text("all:\n\t@echo made\n")
    (root / "hello.c").write_text('#include <stdio.h>\nint main(void) { puts("hello from C"); return 0; }\n')
    script = ("set -e\nmkdir -p a/b c\necho x > a/b/f\nmv a/b/f c/f\nln c/f a/g\ncat c/f a/g\n"
              "cc -o hello hello.c && ./hello\n"  # the separation needs cc, so this host has one
              "sleep 30 & ( /bin/kill $! ); wait $! || echo sibling killed\n"
              "python3 - <<'EOF'\nprint('heredoc', 6 * 7)\nEOF\n"
              "make -s -f build.mk\n"
              "python3 -c \"import os; os.waitpid(os.posix_spawn('/bin/echo', ['echo', 'spawned'], os.environ), 0)\"\n"
              "echo done")
    gate = run_gate(script, root, protected=[])
    assert gate.exit_code == 0, gate.output
    for said in ("x\nx", "hello from C", "sibling killed", "heredoc 42", "made", "spawned", "done"):
        assert said in gate.output


@pytest.mark.skipif(not Path("/usr/bin/python3").exists(), reason="no system Python")
def test_files_the_agent_leaves_in_its_home_do_not_choose_a_check(tmp_path: Path) -> None:
    """HOME is the worktree: a `.pth` in its Python user site ran in every check on the system's Python (and
    ended it 0 before the check ran); a `.gitconfig` there set how a check's git reads the tree."""
    root = _root(tmp_path)
    version = subprocess.run(["/usr/bin/python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    site = root / ".local" / "lib" / f"python{version}" / "site-packages"
    site.mkdir(parents=True)
    (site / "agent.pth").write_text("import os; os._exit(0)\n")
    (root / ".gitconfig").write_text("[core]\n\tfsmonitor = true\n[alias]\n\tcheck = !true\n")
    gate = run_gate("git config --global --list; echo listed=$?\n"
                    "/usr/bin/python3 -c 'print(\"the protected check fails\"); raise SystemExit(3)'",
                    root, protected=[])
    assert gate.exit_code == 3 and "the protected check fails" in gate.output, gate.output
    assert "fsmonitor" not in gate.output and "listed=" in gate.output

