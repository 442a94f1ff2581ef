"""Gates (a runbook's ```check commands) run the agent's code too (its tests, its scripts): they run in
the same jail, under the run's limits, and say so when the user chose to run them unconfined."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from sandbox_kit import SECRETS, Sentinels, make_root, needs_jail, no_secret

from agentbook.runbooks.gates import run_gate
from agentbook.session import gatesep
from agentbook.session.limits import MIB, Limits

pytestmark = needs_jail


def test_a_gate_runs_jailed_without_secrets(tmp_path: Path, monkeypatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    root = make_root(tmp_path)
    sentinels = Sentinels(tmp_path / "outside")
    gate = run_gate(f"grep CapEff /proc/self/status; env; cat /proc/*/environ; echo x > {tmp_path}/outside/victim.txt; "
                    "mount -t tmpfs none .; echo m=$?", root, protected=[])
    no_secret(gate.output)
    sentinels.unchanged()
    assert "CapEff:\t0000000000000000" in gate.output and "m=0" not in gate.output


def test_a_gate_keeps_the_runs_limits(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    gate = run_gate("head -c 3M /dev/zero > big; echo rc=$?", root, protected=[], limits=Limits(file_size=1 * MIB))
    assert "rc=153" in gate.output and (root / "big").stat().st_size <= MIB
    gate = run_gate("for i in $(seq 40); do head -c 1M /dev/urandom > f$i; sleep 0.03; done", root, protected=[],
                    limits=Limits(disk=6 * MIB))
    assert gate.exit_code != 0 and "grew past its disk limit" in gate.output
    gate = run_gate("sleep 30", root, protected=[], timeout=1)
    assert gate.exit_code == 124 and "[gate timed out after 1s]" in gate.output


def test_an_unconfined_gate_says_so(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    gate = run_gate("echo hi", root, protected=[], sandbox="none-i-accept-the-risk")
    assert gate.exit_code == 0 and "ran without a sandbox (--sandbox none-i-accept-the-risk)" in gate.output


# Code a gate runs (the agent's tests) once chose the gate's exit status: every process of the jail is the same
# user and, with no Yama on the host, may open another's /proc/<pid>/mem for writing, bubblewrap's init (pid 1,
# whose exit status is the gate's) included. Each program the gate's shell runs is now in a Landlock domain of
# its own (agentbook.session.gatesep); more attacks in test_sandbox_gate_verdict.py.
PATCH_PID_1 = """import os
fields = open("/proc/1/syscall").read().split()
with open("/proc/1/mem", "r+b", buffering=0) as mem:
    mem.seek(int(fields[-1], 16))
    mem.write(bytes.fromhex("31ffb8e70000000f05"))  # exit_group(0) where pid 1 returns from its syscall
"""


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the patch is x86-64 code")
@pytest.mark.skipif(gatesep.separation().note is not None,
                    reason="no Landlock or no compiler, and no Yama: this host's gates say they are not separated")
def test_code_a_gate_runs_cannot_choose_its_exit_status(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    (root / "agent_code.py").write_text(PATCH_PID_1)
    gate = run_gate("python3 agent_code.py\necho the protected check fails\nexit 3", root, protected=[])
    assert "the protected check fails" in gate.output
    assert "PermissionError" in gate.output
    assert gate.exit_code == 3


@pytest.mark.skipif(gatesep.yama_scope() != 0, reason="Yama separates a gate's programs here without the library")
def test_a_gate_that_cannot_be_separated_says_so(tmp_path: Path) -> None:
    """Without a C compiler (here: none on PATH) the library cannot be built; with no Yama either, the gate
    runs and its output says its code could have chosen its result, and why."""
    root = make_root(tmp_path)
    code = ("import json, sys; from pathlib import Path; from agentbook.runbooks.gates import run_gate; "
            "g = run_gate('echo checked', Path(sys.argv[1]), protected=[]); print(json.dumps([g.exit_code, g.output]))")
    done = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True, timeout=120,
                          check=False, env={"PATH": str(tmp_path / "no-bin")})
    exit_code, output = json.loads(done.stdout)
    assert exit_code == 0 and output.startswith("checked\n")
    assert "the code this check ran could have chosen its result: there is no C compiler" in output
