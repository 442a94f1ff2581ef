"""The run's gate-state folder: what a gate keeps for a later gate (baselines), and its seal.

The folder (`RunDir.gate_state`) is outside the worktree and bound into the gates' jail alone, so the agent's
bash never writes it; but the code a gate runs (a suite's `javascript` assertion, the agent's tests) runs
in that jail too. So once a step's gates pass, the runner records a digest of each baseline in the folder
in the run's own folder (`gate-sealed.json`, which no jail shows), and hands the digests of earlier steps
to every later gate (`AGENTBOOK_GATE_SEALED`): `agentbook baseline check` refuses a baseline that no longer
matches, and `save` will not replace one an earlier step saved. A step redone after a resume may save
its own again: its files are sealed only once its gates pass.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from agentbook.fsutil import atomic_write_json

SEALED_FILE = "gate-sealed.json"
MAX_SEALED = 100  # baselines a run seals, at most (one per suite a runbook saves: a handful)
MAX_BYTES = 64 * 1024 * 1024  # a baseline larger than this is not agentbook's


def sealed(run_dir: Path, step: int) -> dict[str, str]:
    """Path in the gate-state folder -> sha256, of what the gates of steps before `step` (1-based) saved."""
    try:
        data = json.loads((run_dir / SEALED_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return {rel: str(e["sha256"]) for rel, e in data.items() if int(e["step"]) < step}


def seal(run_dir: Path, gate_state: Path, step: int) -> None:
    """After step `step`'s gates passed: record what they saved; what earlier steps sealed stays as it was."""
    path = run_dir / SEALED_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        data = {}
    kept = {rel: e for rel, e in data.items() if int(e["step"]) < step}
    folder = gate_state / "baselines"  # written by gates' code too: the runner follows no link there
    files = [] if folder.is_symlink() else sorted(folder.glob("*.json"))[:MAX_SEALED]
    for file in files:
        rel = file.relative_to(gate_state).as_posix()
        if rel not in kept and not file.is_symlink() and file.is_file() and file.stat().st_size <= MAX_BYTES:
            kept[rel] = {"step": step, "sha256": hashlib.sha256(file.read_bytes()).hexdigest()}
    if kept != data:
        atomic_write_json(path, kept)
