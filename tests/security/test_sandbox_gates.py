"""Gates (a runbook's ```check commands) run the agent's code too (its tests, its scripts): they run in
the same jail, under the run's limits, and say so when the user chose to run them unconfined."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from sandbox_kit import SECRETS, Sentinels, make_root, needs_jail, no_secret

from agentbook.runbooks.gates import run_gate
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
