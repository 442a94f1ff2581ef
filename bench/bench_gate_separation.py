"""What keeping a gate's verdict from its code costs: the Landlock separation of each program a gate runs
(`agentbook.session.gatesep`, a library preloaded into the gate's programs, acting in its shells) against the
same jail without it.

Two gates, each run in the gate's jail both ways (interleaved, which goes first alternating, median of R
rounds):
  many   200 short programs (`/bin/true`), each entering its own Landlock domain and loading the library
         (which does nothing in it): the cost per program
  one    a single `/bin/true`: the fixed cost per gate (bubblewrap binds the library, the loader maps it)
plus the one-time build of the library (once per runner process).

    .venv/bin/python bench/bench_gate_separation.py [--repeat 7] [--programs 200]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agentbook.session import clib, gatesep, jail
from agentbook.session.limits import Limits


def timed(root: Path, command: str, separated: bool) -> float:
    sep = gatesep.separation()
    shell = (sep.guard() if separated else "") + command
    call = jail.prepare(root, Limits(), shell=shell, options=sep.bwrap_options() if separated else None)
    start = time.perf_counter()
    try:
        done = subprocess.run(call.argv, pass_fds=call.pass_fds, capture_output=True, timeout=300, cwd=root,
                              env={"PATH": "/usr/bin:/bin"}, stdin=subprocess.DEVNULL, check=False)
    finally:
        call.close()
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"the gate failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--programs", type=int, default=200)
    args = ap.parse_args()
    if jail.problem() is not None:
        raise SystemExit(f"no sandbox here: {jail.problem()}")
    start = time.perf_counter()
    library, why = clib.build("gatesep")
    build = time.perf_counter() - start
    if library is None or gatesep.separation().library is None:
        raise SystemExit(f"no separation here: {why or gatesep.separation().note}")
    gates = {"many": f"for i in $(seq {args.programs}); do /bin/true; done", "one": "/bin/true"}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for command in gates.values():  # warm the page cache and the seccomp filter
            timed(root, command, True), timed(root, command, False)
        runs: dict[tuple[str, bool], list[float]] = {(g, s): [] for g in gates for s in (True, False)}
        for round_ in range(args.repeat):
            for name, command in gates.items():
                # alternate which goes first: a call after a long one may find no idle cgroup to reuse
                for separated in ((True, False) if round_ % 2 else (False, True)):
                    runs[(name, separated)].append(timed(root, command, separated))
    print(f"library build (once per process): {build * 1000:.0f} ms")
    for name in gates:
        with_, without = (statistics.median(runs[(name, s)]) for s in (True, False))
        per = f", {(with_ - without) / args.programs * 1e6:+.0f} us per program" if name == "many" else ""
        print(f"{name:5} separated {with_ * 1000:7.1f} ms  unseparated {without * 1000:7.1f} ms  "
              f"ratio {with_ / without:.3f}{per}")


if __name__ == "__main__":
    sys.exit(main())
