"""The second example backtest (examples/support-agent/): its generator, analysts and planted causes."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

from bench.loader import load_module

REPO = Path(__file__).resolve().parents[2]
SUPPORT = REPO / "examples" / "support-agent"
SUPPORT_ANALYST = f"scripted:{SUPPORT / 'analyst.script.yaml'}"
SUPPORT_CODE = SUPPORT  # what `--code` points at: the agent's own repository


def support_generator() -> ModuleType:
    return load_module(SUPPORT / "generate.py", "support_agent_generate")


def support_planted(source: Path) -> dict[str, dict[str, object]]:
    rows = [json.loads(line) for line in (source / "planted.jsonl").read_text().splitlines()]
    return {str(r["id"]): r for r in rows}
