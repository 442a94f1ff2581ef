"""One duration grammar: the parser, the runbook schema, `agentbook session --timeout` and a
runbook's `limits.timeout` accept and refuse the same strings (before, `1h30m` was refused by
`session` and accepted by `run`, and `0` the other way round)."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
from tests.conftest import REPO_ROOT

from agentbook.duration import parse_duration
from agentbook.errors import FatalError
from agentbook.runbooks.limits import budgets_for
from agentbook.shipped import load_schema

GOOD = {"90": 90, "90s": 90, "45m": 2700, "1.5h": 5400, "1h30m": 5400, "2m30s": 150, "1h0m5s": 3605, " 45m ": 2700}
BAD = ["0", "0s", "0h0m", "", "m", "-5m", "30m1h", "1h 30m", "forever", "1d", "1h30"]
SCRIPT = REPO_ROOT / "examples" / "sessions" / "explore.script.yaml"


def _schema_ok(value: str) -> bool:
    schema = load_schema("runbook")
    return jsonschema.Draft202012Validator(schema["$defs"]["duration"]).is_valid(value)


@pytest.mark.parametrize(("text", "seconds"), GOOD.items())
def test_good_durations_mean_the_same_everywhere(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds
    assert budgets_for({"timeout": text}, max_usd=None, max_turns=None, timeout=None).wall_seconds == seconds
    assert _schema_ok(text.strip())


@pytest.mark.parametrize("text", BAD)
def test_bad_durations_are_refused_everywhere(text: str) -> None:
    with pytest.raises(FatalError, match="timeout: "):
        parse_duration(text)
    with pytest.raises(FatalError):
        budgets_for({"timeout": text}, max_usd=None, max_turns=None, timeout=None)
    assert not _schema_ok(text)


def test_numbers_and_the_session_command(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert parse_duration(30) == 30 and parse_duration(0.5) == 0.5
    for value in (0, -1, True):
        with pytest.raises(FatalError):
            parse_duration(value)
    root = tmp_path / "root"
    root.mkdir()
    refused = run_cli("session", "--model", f"scripted:{SCRIPT}", "--root", root, "--timeout", "0", "task")
    assert refused.code == 2 and "--timeout: the duration must be above zero, got '0'" in refused.err
    taken = run_cli("session", "--model", f"scripted:{SCRIPT}", "--root", root, "--timeout", "1h30m",
                    "--out", tmp_path / "out", "--json", "Please explore and note NOTES.md")
    assert taken.code == 0, taken.err
