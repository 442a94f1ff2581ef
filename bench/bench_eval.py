"""Benchmark the eval store on generated suites: `eval show` / `eval edit` of one case vs a full ruamel
round-trip, bytes outside the edited case, the split layout, and the bytes an agent reads.

    .venv/bin/python bench/bench_eval.py            # 5 MB suite (1,280 cases)
    .venv/bin/python bench/bench_eval.py --full     # also the 20 MB suite (5,000 cases; ~1 min more)
    .venv/bin/python bench/bench_eval.py --js       # only `javascript` assertions: jailed node, shared vs per assertion

Figures are wall-clock seconds on this machine, printed as ratios against the full round-trip measured in
the same run. `cli` times are whole `agentbook` processes (interpreter start included); `lib` times are
the library call alone.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from agentbook.evals import state
from agentbook.evals.indexstore import IndexStore
from agentbook.evals.split import split_suite
from agentbook.evals.store import SingleFileSuite, open_suite
from agentbook.evals.synth import synthetic_suite

AGENTBOOK = [sys.executable, "-m", "agentbook"]


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def cli(*args: str) -> tuple[float, bytes]:
    start = time.perf_counter()
    res = subprocess.run([*AGENTBOOK, *args], capture_output=True, check=True)
    return time.perf_counter() - start, res.stdout


def cli_best(*args: str, repeat: int = 3) -> tuple[float, bytes]:
    runs = [cli(*args) for _ in range(repeat)]
    return min(t for t, _ in runs), runs[-1][1]


def full_round_trip(path: Path) -> float:
    start = time.perf_counter()
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 1 << 20
    yaml.indent(mapping=2, sequence=4, offset=2)
    doc = yaml.load(path.read_text())
    doc["tests"][len(doc["tests"]) // 2]["assert"][0]["value"] = "changed"
    buf = io.StringIO()
    yaml.dump(doc, buf)
    return time.perf_counter() - start


_IO_CALL = re.compile(r"^(?:\d+ +)?(?:p?read|p?write|readv|writev|preadv|pwritev)\w*\((\d+)<([^>]*)>.*= (\d+)$")


def traced_bytes(path: Path, *args: str) -> int | None:
    """Bytes an `agentbook` process passes through read/write calls on the suite's folder (the suite,
    its temporary twin, the index cache): `copy_file_range` moves the rest inside the kernel."""
    if shutil.which("strace") is None:
        return None
    with tempfile.NamedTemporaryFile(suffix=".strace") as log:
        subprocess.run(["strace", "-f", "-y", "-qq", "-o", log.name, "-e",
                        "trace=read,pread64,readv,preadv,write,pwrite64,writev,pwritev", *AGENTBOOK, *args],
                       check=True, capture_output=True)
        folder = str(path.parent)
        total = 0
        for line in Path(log.name).read_text(errors="replace").splitlines():
            m = _IO_CALL.match(line)
            if m and m.group(2).startswith(folder):
                total += int(m.group(3))
    return total


def outside_identical(before: bytes, after: bytes, start: int, end: int) -> bool:
    """Bytes before the case's start and after its end are unchanged (the case may change length)."""
    tail = len(before) - end
    return before[:start] == after[:start] and before[end:] == after[len(after) - tail:]


def bench_size(label: str, n: int, size: int, work: Path) -> None:
    path = work / f"suite-{label}.yaml"
    path.write_text(synthetic_suite(n, case_bytes=size // n))
    mb = path.stat().st_size / 1e6
    print(f"\n== {label}: {mb:.1f} MB, {n} cases ({path})")
    target = f"case-{n // 2:05d}"
    floor, _ = cli_best("--version")
    print(f"interpreter floor (agentbook --version): {floor:.3f}s; load average now "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (timings are wall-clock)")

    index_cold, _ = timed(lambda: (IndexStore(state.index_db(path)).drop(),
                                   open_suite(path).list_cases()), repeat=1)
    print(f"index build (cold, once per file version): {index_cold:.3f}s")

    suite = open_suite(path)
    assert isinstance(suite, SingleFileSuite)
    # `lib` figures open the suite afresh each time, as a new process would (read, hash, cached index)
    show_lib, _ = timed(lambda: open_suite(path).get_case(target))
    show_cli, show_out = cli_best("eval", "show", str(path), target)
    print(f"eval show  lib {show_lib:.4f}s  cli {show_cli:.3f}s  (target < 0.5 s)")

    rt = full_round_trip(path)
    print(f"full ruamel round-trip (load + dump, once): {rt:.2f}s")

    _, index = suite.file.read()
    span = next(c for c in index.cases if c.id == target)
    before = path.read_bytes()
    edit_cli, edit_out = cli("eval", "edit", str(path), target, "--set", "assert[0].value=svc-changed")
    after = path.read_bytes()
    for i in range(2):  # best of three processes, like the other CLI figures
        edit_cli = min(edit_cli, cli("eval", "edit", str(path), target, "--set",
                                     f"assert[0].value=svc-changed-{i}")[0])
    same = outside_identical(before, after, span.start, span.end)
    edit_lib, _ = timed(lambda: open_suite(path).edit_case(target, [("assert[0].value", "svc-changed-again")]))
    print(f"eval edit  lib {edit_lib:.4f}s  cli {edit_cli:.3f}s  (target < 0.5 s)")
    through = traced_bytes(path, "eval", "edit", str(path), target, "--set", "assert[0].value=svc-traced")
    if through is None:
        print("bytes through the process on a warm edit: skipped (needs strace)")
    else:
        print(f"bytes of the suite and its index read or written through the process on a warm `eval edit` "
              f"(strace, kernel copies excluded): {through:,} B = {100 * through / path.stat().st_size:.3f}% "
              f"of the file (target <= 1%)")
    print(f"ratio full round-trip / eval edit: {rt / edit_lib:.0f}x (lib), {rt / edit_cli:.0f}x (cli)")
    print(f"bytes outside the edited case identical: {'yes' if same else 'NO'}; "
          f"changed lines: {sum(a != b for a, b in zip(before.splitlines(), after.splitlines()))}")

    agent_bytes = len(show_out) + len(edit_out)
    print(f"agent task 'change the expected output of {target}': reads {agent_bytes} B with the CLI "
          f"(show + edit) vs {len(before)} B reading the file: {len(before) / agent_bytes:.0f}x fewer "
          f"(target >= 100x)")

    out = work / f"split-{label}"
    split_suite(open_suite(path), out)
    sshow_lib, _ = timed(lambda: open_suite(out).get_case(target))
    sedit_lib, _ = timed(lambda: open_suite(out).edit_case(target, [("assert[0].value", "svc-split")]))
    sshow_cli, _ = cli_best("eval", "show", str(out), target)
    sedit_cli = min(cli("eval", "edit", str(out), target, "--set", f"assert[0].value=svc-split-{i}")[0]
                    for i in range(3))
    print(f"split layout: show lib {sshow_lib:.4f}s cli {sshow_cli:.3f}s; edit lib {sedit_lib:.4f}s "
          f"cli {sedit_cli:.3f}s  (target < 0.1 s lib; cli includes the {floor:.2f}s interpreter floor)")


def bench_js(rounds: int = 300, fresh: int = 10) -> None:
    """A `javascript` assertion's cost in the run's one jailed node, against a jailed node per assertion
    and against the floor of starting node at all (`node -e ''`, no jail), all measured here and now."""
    import asyncio

    from agentbook.evals.jsassert import JsRunner, node_path, problem

    why = problem()
    node = node_path()
    if why is not None or node is None:
        print(f"javascript: skipped ({why})")
        return
    floor = min(timed(lambda: subprocess.run([node, "-e", ""], check=True), 1)[0] for _ in range(5))
    here = Path.cwd()

    async def shared() -> float:
        js = JsRunner(here, here)
        try:
            await js.run("output.length > 0", "warm-up", {})
            start = time.perf_counter()
            for i in range(rounds):
                await js.run("output.includes('disk') && context.vars.n >= 0", f"disk {i}", {"vars": {"n": i}})
            return (time.perf_counter() - start) / rounds
        finally:
            await js.close()

    async def one_each() -> float:
        start = time.perf_counter()
        for i in range(fresh):
            js = JsRunner(here, here)
            try:
                await js.run("output.includes('disk')", f"disk {i}", {})
            finally:
                await js.close()
        return (time.perf_counter() - start) / fresh

    per_shared = asyncio.run(shared())
    per_fresh = asyncio.run(one_each())
    print(f"javascript assertion: {per_shared * 1000:.2f} ms each in the run's one jailed node ({rounds} assertions); "
          f"{per_fresh * 1000:.0f} ms each with a jailed node per assertion ({fresh}); floor `node -e ''` unjailed "
          f"{floor * 1000:.0f} ms")
    print(f"ratio node per assertion / shared node: {per_fresh / per_shared:.0f}x; "
          f"shared assertion / node start floor: {per_shared / floor:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="also run the 20 MB / 5,000-case suite")
    parser.add_argument("--js", action="store_true", help="only the javascript assertion figures")
    args = parser.parse_args()
    if args.js:
        bench_js()
        return
    with tempfile.TemporaryDirectory(prefix="bench-eval-") as tmp:
        work = Path(tmp)
        bench_size("5MB", 1280, 5_000_000, work)
        if args.full:
            bench_size("20MB", 5000, 20_000_000, work)


if __name__ == "__main__":
    main()
