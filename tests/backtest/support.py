"""The second example backtest (examples/support-agent/): its generator, analysts and planted causes."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from bench.loader import load_module

from agentbook.backtest.cohorts import cluster_backtest
from agentbook.backtest.folder import BacktestFolder
from agentbook.backtest.importer import import_backtest
from agentbook.backtest.quality import Quality, score

REPO = Path(__file__).resolve().parents[2]
SUPPORT = REPO / "examples" / "support-agent"
SUPPORT_ANALYST = f"scripted:{SUPPORT / 'analyst.script.yaml'}"
SUPPORT_CODE = SUPPORT  # what `--code` points at: the agent's own repository


def support_generator() -> ModuleType:
    return load_module(SUPPORT / "generate.py", "support_agent_generate")


def support_planted(source: Path) -> dict[str, dict[str, object]]:
    rows = [json.loads(line) for line in (source / "planted.jsonl").read_text().splitlines()]
    return {str(r["id"]): r for r in rows}


def analysed(root: Path, generate: Callable[..., None], seed: int, kinds: tuple[str, ...]) -> Path:
    """A generator's backtest, imported once per kind of analyst (`<root>/<kind>`, analyses from the
    generator's `<kind>.jsonl`), with its source and plant in `<root>/src`."""
    generate(root / "src", seed=seed)
    import_backtest(root / "src" / "manifest.jsonl", root / kinds[0])
    for kind in kinds[1:]:
        shutil.copytree(root / kinds[0], root / kind)
    for kind in kinds:
        support_generator().write_analyses(root / kind, root / "src" / f"{kind}.jsonl")
    return root


def clustered_quality(root: Path, kind: str) -> Quality:
    """Cluster `<root>/<kind>` as `backtest cluster` does and score its cohorts against the plant."""
    folder = root / kind
    cluster_backtest(str(folder))
    index = json.loads((folder / "cohorts" / "index.json").read_text())
    planted = {r["id"]: r for r in map(json.loads, (root / "src" / "planted.jsonl").read_text().splitlines())}
    failed = {i.id for i in BacktestFolder(folder).investigations() if not i.correct}
    return score([c["members"] for c in index["cohorts"]], {i: planted[i]["cause"] for i in failed})
