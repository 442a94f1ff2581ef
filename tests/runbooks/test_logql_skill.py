"""The logql skill's offline path is real: its commands, run as written in a copy of the example,
show the case-sensitivity bug on recorded lines (no match for `|= "error"`, matches for `(?i)`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

SKILL = REPO_ROOT / "skills" / "logql" / "SKILL.md"


def _taught_script() -> str:
    found = re.search(r"## Try a query on recorded lines.*?```sh\n(.*?)```", SKILL.read_text(), re.DOTALL)
    assert found, f"no sh block under 'Try a query on recorded lines' in {SKILL}"
    return found.group(1)


def test_the_offline_query_commands_run_on_the_example_as_taught(example_repo: Path) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    lines = _taught_script().strip().splitlines()
    assert len(lines) == 3, lines
    (example_repo / ".agentbook").mkdir(exist_ok=True)
    counts = []
    for line in lines:
        done = subprocess.run(["bash", "-c", line], check=False, cwd=example_repo, env=env,
                              capture_output=True, text=True)  # grep -c exits 1 on a count of 0
        assert done.stderr == "", (line, done.stderr)
        counts.append(done.stdout.strip())
    assert (example_repo / ".agentbook" / "lines.txt").stat().st_size > 100_000  # the whole field
    case_sensitive, case_insensitive = int(counts[1]), int(counts[2])
    assert case_sensitive == 0 and case_insensitive > 0, counts
