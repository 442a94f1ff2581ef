"""Name the component at fault in an incident: stdin {"logs": [...]} -> the component on stdout."""

import asyncio
import json
import os
import sys
from pathlib import Path

from agentbook.models import ModelRequest, load_model, tracing

ROOT = Path(__file__).resolve().parent


def error_lines(logs: list[str]) -> list[str]:
    return [line for line in logs if "level=error" in line]


async def main() -> None:
    incident = json.load(sys.stdin)
    lines = error_lines(incident["logs"])
    tracing.record_tool("logs", {"kept": "level=error"}, "\n".join(lines) or "(no error lines)")
    prompt = (ROOT / "prompts" / "triage.md").read_text().replace("{{logs}}", "\n".join(lines))
    model = load_model(os.environ.get("AGENTBOOK_MODEL") or f"scripted:{ROOT / 'evals' / 'model.script.yaml'}")
    try:
        reply = await model.complete(ModelRequest(messages=[{"role": "user", "content": prompt}], max_tokens=64))
    finally:
        await model.aclose()
    print(reply.text().strip())


asyncio.run(main())
