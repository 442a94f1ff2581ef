"""debug-trace on a large trace, as an agent follows the skill: over 2,000 spans the export is compact,
and the skill's only way to find a span by its number (`grep -P '(^|/)0042-' OUT/index.tsv`) found
nothing there; errors.md, which it says to read second, held 2,000 lines."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.conftest import REPO_ROOT, CliResult


def _big_trace(path: Path, spans: int) -> Path:
    """A root agent and `spans` chat spans under it, the 507th with a failed status."""
    def span(n: int, parent: int | None, name: str) -> dict[str, object]:
        out: dict[str, object] = {"traceId": "e" * 32, "spanId": f"{n:016x}", "name": name,
                                  "startTimeUnixNano": str(1700000000000000000 + n),
                                  "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}}]}
        if parent is not None:
            out["parentSpanId"] = f"{parent:016x}"
        if n == 507:
            out["status"] = {"code": 2, "message": "context length exceeded"}
        return out
    rows = [span(1, None, "root")] + [span(n, 1, f"chat {n}") for n in range(2, spans + 2)]
    path.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": rows}]}]}))
    return path


def _bash(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True, check=False)


def test_a_span_of_a_compact_export_is_found_as_the_skill_says(tmp_path: Path,
                                                                run_cli: Callable[..., CliResult]) -> None:
    trace = _big_trace(tmp_path / "big.json", 2100)
    assert run_cli("trace", "export", str(trace), str(tmp_path / "out")).code == 0
    skill = (REPO_ROOT / "skills" / "debug-trace" / "SKILL.md").read_text()
    assert "`grep -rn '^## 0042 ' --include='spans-*.md' OUT`" in skill
    assert "`grep -n '^## ' OUT/errors.md`" in skill
    found = _bash("grep -rn '^## 0507 ' --include='spans-*.md' out", tmp_path)
    assert found.returncode == 0 and found.stdout.count("\n") == 1
    file, line, text = found.stdout.split(":", 2)
    assert text.startswith("## 0507 llm chat 507 [error]")
    assert (tmp_path / file).read_text().splitlines()[int(line) - 1] == text.rstrip("\n")
    assert _bash("grep -P '(^|/)0507-' out/index.tsv", tmp_path).returncode == 1  # the folder form finds nothing
    sections = _bash("grep -n '^## ' out/errors.md", tmp_path)
    assert sections.returncode == 0 and sections.stdout.splitlines()[0] == "3:## Failed spans (status ERROR)"
