"""The warm worker: agentbook's own commands, called from a gate or the agent's bash, answered by a
pre-imported agentbook inside a jail like theirs instead of a new Python start-up each.

- `pool`: the runner's side: one worker per worktree and role (gates, the agent's bash), started in
  its own jail built like the calls' jails, and what a call needs to use it (a read-only bind and PATH).
- `server`: the worker, inside its jail: one forked child per call, everything it left killed and
  wiped before the next.
- `client`: the `agentbook` shim first on PATH in the calls' jails; it runs the real console script
  (the cold path) whenever the worker cannot take the call.

`AGENTBOOK_WARM=0` turns it off (every call cold, as before).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

ENV_SWITCH = "AGENTBOOK_WARM"
JAIL_DIR = "/run/agentbook-warm"  # where the shim and the socket are bound in a call's jail


CALLS_AGENTBOOK = re.compile(r"(^|[\s;|&(`$])agentbook(\s|$|[;|&)])")


def calls_agentbook(command: str) -> bool:
    """Whether a command line calls `agentbook` (only then is a warm worker worth its start)."""
    return CALLS_AGENTBOOK.search(command) is not None


def enabled() -> bool:
    return os.environ.get(ENV_SWITCH, "1").strip().lower() not in ("0", "off", "no", "false")


def real_agentbook() -> str:
    """The console script a cold call runs: this installation's, beside its Python."""
    return str(Path(sys.executable).parent / "agentbook")
