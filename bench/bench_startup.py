"""Start-up: what a command costs before it does anything, and a session's start + one trivial turn.

Printed as ratios measured in this run:
  floor  `python -c pass` (the same interpreter, site-packages and all): no CLI can start faster
  SDK floor  `import pydantic, httpx2, anyio, httpcore2, h11` and OpenTelemetry's API: what the SDK's
         client module itself imports; no session that talks HTTP through the SDK starts faster
  peer   Claude Code headless (`claude -p`) answering the same trivial turn from the same stand-in
         script, over HTTP; skipped with a note when no `claude` is found (PATH, or the cache dir
         `--install-peer` fills with `npm i @anthropic-ai/claude-code@VERSION`)
Each figure is the median of R interleaved runs (load drifting on a shared machine hits all alike);
`cpu` is the user+system time of the process and its children.

    .venv/bin/python bench/bench_startup.py [--repeat 7] [--install-peer]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from precompile import compile_agentbook

PEER_VERSION = "2.1.328"
PEER_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "agentbook-bench"
AGENTBOOK = [sys.executable, "-m", "agentbook"]

SCRIPT = """version: 1
sessions:
  - name: trivial
    match: {first_user: {contains: "say hi"}}
    turns:
      - text: "hi"
default:
  after_last: repeat_last
  turns:
    - text: "ok"
"""

SUITE = """description: start-up bench
prompts: ["{{q}}"]
tests:
""" + "".join(f"  - description: case-{i}\n    vars: {{q: 'question {i}'}}\n"
              f"    assert: [{{type: contains, value: 'a{i}'}}]\n" for i in range(50))


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one process (children included); it must exit 0."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=300)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])}... exited {proc.returncode}: {(proc.stderr or proc.stdout)[-400:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def find_peer(install: bool) -> str | None:
    """`claude` on PATH, else the pinned version in the bench cache (installed there on request)."""
    found = shutil.which("claude")
    if found:
        return found
    for base in (PEER_CACHE, PEER_CACHE.parent / "agentbook-test"):
        exe = base / f"claude-code-{PEER_VERSION}" / "node_modules" / ".bin" / "claude"
        if exe.exists():
            return str(exe)
    if install and shutil.which("npm"):
        prefix = PEER_CACHE / f"claude-code-{PEER_VERSION}"
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "i", "--prefix", str(prefix), "--no-fund", "--no-audit",
                        f"@anthropic-ai/claude-code@{PEER_VERSION}"], check=True)
        exe = prefix / "node_modules" / ".bin" / "claude"
        return str(exe) if exe.exists() else None
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--install-peer", action="store_true",
                    help=f"npm-install Claude Code {PEER_VERSION} into {PEER_CACHE} when it is missing")
    args = ap.parse_args()
    compile_agentbook()
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        base = Path(tmp)
        script = base / "trivial.script.yaml"
        script.write_text(SCRIPT)
        suite = base / "suite.yaml"
        suite.write_text(SUITE)
        root = base / "root"
        root.mkdir()
        env = {**os.environ, "XDG_STATE_HOME": str(base / "state"), "XDG_CACHE_HOME": str(base / "cache")}
        session = [*AGENTBOOK, "session", "--root", str(root), "--out", str(base / "out"), "--max-turns", "2"]
        cases: dict[str, Callable[[], tuple[float, float]]] = {
            "floor: python -c pass": lambda: run([sys.executable, "-c", "pass"], base, env),
            "SDK floor: import its dependencies": lambda: run(
                [sys.executable, "-c", "import pydantic, httpx2, anyio, httpcore2, h11, opentelemetry.trace"], base, env),
            "agentbook --version": lambda: run([*AGENTBOOK, "--version"], base, env),
            "agentbook eval list (50 cases)": lambda: run([*AGENTBOOK, "eval", "list", str(suite)], base, env),
            "session + 1 turn, scripted": lambda: run(
                [*session, "--model", f"scripted:{script}", "say hi"], base, env),
            "session + 1 turn, scripted ?http=1 (SDK)": lambda: run(
                [*session, "--model", f"scripted:{script}?http=1", "say hi"], base, env),
        }
        peer = find_peer(args.install_peer)
        server = None
        if peer is not None:
            from agentbook.standin import ensure_server

            server = ensure_server(script)
            peer_env = {**env, "ANTHROPIC_BASE_URL": server.base_url, "ANTHROPIC_API_KEY": "sk-bench",
                        "HOME": str(base / "home"), "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
                        "DISABLE_TELEMETRY": "1", "DISABLE_AUTOUPDATER": "1"}
            (base / "home").mkdir()
            cases["peer: claude -p (same stand-in)"] = lambda: run(
                [peer, "-p", "say hi", "--output-format", "json"], root, peer_env)
        load_before = os.getloadavg()[0]
        for fn in cases.values():  # warm-up: page cache, .pyc files
            fn()
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
        for _ in range(args.repeat):
            for name, fn in cases.items():
                samples[name].append(fn())
        report(samples, args.repeat, peer, (load_before, os.getloadavg()[0]))


def report(samples: dict[str, list[tuple[float, float]]], repeat: int, peer: str | None,
           load: tuple[float, float]) -> None:
    wall = {k: statistics.median(w for w, _ in v) for k, v in samples.items()}
    cpu = {k: statistics.median(c for _, c in v) for k, v in samples.items()}
    floor = wall["floor: python -c pass"]
    cc = wall.get("peer: claude -p (same stand-in)")
    cc_cpu = cpu.get("peer: claude -p (same stand-in)")
    busy = max(load) > (os.cpu_count() or 1)
    caveat = ": above the core count, wall figures measure the machine's queue" if busy else ""
    print(f"start-up, median of {repeat} interleaved runs ({os.cpu_count()} cores; 1-min load average "
          f"{load[0]:.1f} -> {load[1]:.1f}{caveat})")
    print(f"  {'':42}{'wall':>9}{'cpu':>9}{'/ floor':>9}{'wall / claude':>15}{'cpu / claude':>14}")
    for name in samples:
        vs_peer = f"{wall[name] / cc:14.2f}x" if cc else f"{'':>15}"
        vs_peer_cpu = f"{cpu[name] / cc_cpu:13.2f}x" if cc_cpu else f"{'':>14}"
        print(f"  {name:<42}{wall[name] * 1000:7.0f}ms{cpu[name] * 1000:7.0f}ms{wall[name] / floor:8.2f}x"
              f"{vs_peer}{vs_peer_cpu}")
    if cc is None:
        print("  peer: claude -p                     skipped (no `claude`; rerun with --install-peer to npm-install "
              f"@anthropic-ai/claude-code@{PEER_VERSION} into {PEER_CACHE})")
    else:
        print(f"  goals: session / claude -p <= 0.5x; --version and eval list < 60 ms (peer: {peer})")


if __name__ == "__main__":
    main()
