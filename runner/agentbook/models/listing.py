"""What `agentbook models list` shows: the backends, whether each is ready to use, and the prices."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from agentbook.models.pricing import price_table
from agentbook.models.spec import COMPAT_KEY_ENV, aliases_file, load_aliases

MAX_SCRIPTS = 20  # bounded output: example scripts listed at most


def _key_state(*names: str) -> str:
    found = [n for n in names if os.environ.get(n)]
    return f"set ({found[0]})" if found else f"not set ({' or '.join(names)})"


def list_backends(root: Path | None = None) -> list[dict[str, Any]]:
    """One entry per backend kind with its spec form and readiness (never a key's value)."""
    root = root or Path.cwd()
    scripts = sorted(str(p.relative_to(root)) for p in (root / "examples" / "sessions").glob("*.script.yaml"))
    return [
        {"backend": "anthropic", "spec": "anthropic:<model>",
         "ready": bool(os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN")),
         "key": _key_state("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"),
         "base_url": os.environ.get("ANTHROPIC_BASE_URL") or "https://api.anthropic.com"},
        {"backend": "compat", "spec": "compat:<base-url>#<model>[?auth=x-api-key&version=2023-06-01]",
         "ready": True, "key": _key_state(COMPAT_KEY_ENV) + "; a placeholder key is sent when unset"},
        {"backend": "scripted", "spec": "scripted:<file.script.yaml>", "ready": True,
         "key": "none needed (in-process stand-in on 127.0.0.1)", "scripts": scripts[:MAX_SCRIPTS],
         "more_scripts": max(0, len(scripts) - MAX_SCRIPTS)},
    ]


def list_aliases() -> dict[str, Any]:
    return {"file": str(aliases_file()), "aliases": load_aliases()}


def list_prices() -> dict[str, Any]:
    table = price_table()
    return {"source": table.source, "unit": "USD per million tokens", "batch_discount": table.batch_discount,
            "default_for_unpriced": table.default.to_json(),
            "models": {name: price.to_json() for name, price in table.models.items()}}
