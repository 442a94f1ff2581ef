"""What the sandbox costs per bash call: the hardened jail against plain bash and the bubblewrap call
agentbook made before it (read-only /, private /tmp and /proc, no network; capabilities kept).

Each figure is the median wall time of one `true` run through the same code path, the three kinds
interleaved round by round (load drifting on a shared machine hits all alike):
  plain     the bash tool with --sandbox none-i-accept-the-risk: fork/exec of bash, output capture
  old       the previous bubblewrap invocation, through the same runner
  hardened  the bash tool in the jail: seccomp pipe, rlimits, pids cgroup (as root), disk watchdog,
            protected-path snapshot
Printed: ms per call, and hardened as a ratio of plain and of old, with the ms it adds.

    .venv/bin/python bench/bench_sandbox.py [--calls 200] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from agentbook.session import jail, sandbox
from agentbook.session.tools import ToolContext
from agentbook.session.tools.bash import BashTool, run_command


def old_argv(root: Path, command: str) -> list[str]:
    """The invocation the bash tool used before the jail (kept here as the peer to measure against)."""
    bwrap = jail.bwrap_path() or jail.BWRAP
    return [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
            "--bind", str(root), str(root), "--unshare-net", "--unshare-pid", "--unshare-ipc", "--die-with-parent",
            "--new-session", "--chdir", str(root), "--", "/bin/bash", "-c", command]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="calls of each kind")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    why = jail.problem()
    if why is not None:
        print(f"bench_sandbox: skipped: the sandbox cannot run here: {why}")
        return 0
    with tempfile.TemporaryDirectory(prefix="agentbook-bench-sandbox-") as tmp:
        root = Path(tmp)
        (root / "README.md").write_text("bench\n")
        tool = BashTool()
        plain_ctx = ToolContext(root=root, sandbox="unconfined")
        jail_ctx = ToolContext(root=root, sandbox="bwrap")
        env = sandbox.clean_env({}, root)
        kinds = {
            "plain": lambda: tool.run({"command": "true"}, plain_ctx),
            "old": lambda: run_command(old_argv(root, "true"), root, env, 30),
            "hardened": lambda: tool.run({"command": "true"}, jail_ctx),
        }
        for call in kinds.values():  # warm: caches, the probe, page cache
            for _ in range(3):
                call()
        times: dict[str, list[float]] = {k: [] for k in kinds}
        for _ in range(args.calls):
            for name, call in kinds.items():
                start = time.perf_counter()
                call()
                times[name].append((time.perf_counter() - start) * 1000)
    ms = {k: statistics.median(v) for k, v in times.items()}
    figures = {"calls": args.calls, "ms_per_call": {k: round(v, 2) for k, v in ms.items()},
               "hardened_over_plain": round(ms["hardened"] / ms["plain"], 2),
               "hardened_over_old": round(ms["hardened"] / ms["old"], 2),
               "added_ms_over_plain": round(ms["hardened"] - ms["plain"], 2),
               "added_ms_over_old": round(ms["hardened"] - ms["old"], 2),
               "pids_cgroup": jail.pids_cgroup_base() is not None}
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"bash call, median of {args.calls} (ms): plain {ms['plain']:.2f}, old bwrap {ms['old']:.2f}, "
          f"hardened {ms['hardened']:.2f}")
    print(f"hardened = {figures['hardened_over_plain']}x plain (+{figures['added_ms_over_plain']} ms), "
          f"{figures['hardened_over_old']}x old bwrap (+{figures['added_ms_over_old']} ms); "
          f"pids cgroup {'on' if figures['pids_cgroup'] else 'off'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
