"""The second example backtest (examples/support-agent/): its generator, analysts and planted causes."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
SUPPORT = REPO / "examples" / "support-agent"
SUPPORT_ANALYST = f"scripted:{SUPPORT / 'analyst.script.yaml'}"
SUPPORT_CODE = SUPPORT  # what `--code` points at: the agent's own repository


def support_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("support_agent_generate", SUPPORT / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def support_planted(source: Path) -> dict[str, dict[str, object]]:
    rows = [json.loads(line) for line in (source / "planted.jsonl").read_text().splitlines()]
    return {str(r["id"]): r for r in rows}
