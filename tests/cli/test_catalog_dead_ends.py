"""The catalog as an agent meets it after `agentbook skills install --target .claude/skills` (the README's
line): `skills list` and `runbooks list` cut each description with `...` and said nothing of where the
rest is."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import CliResult


def test_cut_descriptions_say_where_they_are_whole(example_cwd: Path, run_cli: Callable[..., CliResult]) -> None:
    assert run_cli("skills", "install", "--target", ".claude/skills").code == 0
    for kind in ("skills", "runbooks"):
        res = run_cli(kind, "list")
        assert res.code == 0
        assert f"(descriptions cut at 80 characters: agentbook {kind} show NAME has the whole text)" in \
            res.out.splitlines(), res.out
    shown = run_cli("skills", "show", "eval-tool").out
    assert "also when a suite is too large to read." in " ".join(shown.split())
