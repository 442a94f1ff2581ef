"""Benchmark: what loading a catalog costs for a big installed skill, and what the skill tool's file
listing costs for a big skill folder.

1. An unchanged copy `skills install` made (N files, M MB of assets): the catalog asks of it, every
   time it loads (`skills list`, each run, each `skill` tool call), whether it is still unchanged.
   Timed: `pristine_copy` (the stat hash: paths, sizes, times) against the tree hash of its bytes,
   which it used to compute every time (the peer, measured in the same run), on a warm page cache.
2. The `skill` tool's listing of a skill folder that is a whole checkout (F files, a .git folder):
   the bounded walk against listing every file (rglob, then sort: what it did), same run.

    .venv/bin/python bench/bench_catalog_load.py            # 10,000 files / 135 MB; 100,000 files
    .venv/bin/python bench/bench_catalog_load.py --quick    # 2,000 files / 27 MB; 20,000 files
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runner"))

from agentbook.catalog.install import install_skills, pristine_copy, tree_hash
from agentbook.catalog.skill import load_skill
from agentbook.runbooks.skill_tool import SkillTool
from agentbook.session.tools import ToolContext


def _best(fn: Callable[[], object], rounds: int = 3) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _big_skill(base: Path, files: int) -> Path:
    folder = base / "skills" / "big"
    (folder / "assets").mkdir(parents=True)
    (folder / "SKILL.md").write_text("---\nname: big\ndescription: A skill with many assets.\n---\nbody\n")
    for n in range(files):
        sub = folder / "assets" / f"d{n // 200:03d}"
        sub.mkdir(exist_ok=True)
        (sub / f"f{n:05d}.bin").write_bytes(os.urandom(2_000_000 if n % 200 == 0 else 4096))
    return folder


def _checkout(base: Path, files: int) -> Path:
    folder = base / "checkout"
    (folder / "SKILL.md").parent.mkdir(parents=True)
    (folder / "SKILL.md").write_text("---\nname: x\ndescription: d\n---\nbody\n")
    for n in range(files):
        sub = folder / (".git/objects" if n % 2 else "src") / f"{n // 500:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"{n:06d}").write_text("x")
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    assets, listed = (2_000, 20_000) if args.quick else (10_000, 100_000)
    with tempfile.TemporaryDirectory(prefix="bench-catalog-") as tmp:
        base = Path(tmp)
        skill, _ = load_skill(_big_skill(base, assets) / "SKILL.md")
        assert skill is not None
        (copy,) = install_skills([skill], base / "repo" / ".claude" / "skills")
        size = sum(p.stat().st_size for p in copy.path.rglob("*") if p.is_file()) / 1e6
        assert pristine_copy(copy.path)
        stat_s = _best(lambda: pristine_copy(copy.path))
        bytes_s = _best(lambda: tree_hash(copy.path))
        print(f"installed copy of {assets + 1} files, {size:.0f} MB: unchanged? {stat_s * 1e3:.1f} ms by stat vs "
              f"{bytes_s * 1e3:.1f} ms hashing its bytes (what every load did): {bytes_s / stat_s:.1f}x")
        folder = _checkout(base, listed)
        tool = SkillTool({"x": (folder / "SKILL.md", "body")})
        ctx = ToolContext(root=base)
        walk_s = _best(lambda: tool.run({"name": "x"}, ctx))
        all_s = _best(lambda: sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()))
        print(f"skill tool on a {listed}-file checkout: {walk_s * 1e3:.1f} ms listing 50 vs {all_s * 1e3:.1f} ms "
              f"listing every file (what it did): {all_s / walk_s:.0f}x")
    print(f"machine load while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
