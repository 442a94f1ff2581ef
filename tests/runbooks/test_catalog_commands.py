"""The workflow skills and runbooks tell agents which commands to type: every `agentbook ...` command
they name must exist, with every `--flag` written after it, so the catalog cannot drift from the CLI."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from tests.conftest import REPO_ROOT

from agentbook.cli import cli

SKILLS = ("eval-tool", "prompt-craft", "logql", "backtest-analysis")
RUNBOOKS = ("add-eval", "fix-prompt", "consolidate-prompt", "analyze-backtest")
FILES = [p for name in SKILLS for p in sorted((REPO_ROOT / "skills" / name).rglob("*.md"))] + [
    REPO_ROOT / "runbooks" / f"{name}.md" for name in RUNBOOKS]
# `agentbook GROUP [SUB] ...flags` inside backticks or a check block, up to the end of that span
MENTION = re.compile(r"(?:(?<=`)|^)agentbook ([a-z][a-z-]*)((?: [^`\n;|]*)?)")
# reference tables list subcommands without the program name: | `eval show SUITE ID [--field PATH]` |
TABLE_ROW = re.compile(r"^\| `((?:eval|baseline|trace|backtest) [a-z-]+)((?: [^`]*)?)`")


def _command(words: list[str]) -> tuple[click.Command | None, list[str]]:
    ctx = click.Context(cli)
    cmd: click.Command | None = cli.get_command(ctx, words[0]) if words else None
    used = words[:1]
    if isinstance(cmd, click.Group) and len(words) > 1 and words[1] in cmd.list_commands(ctx):
        cmd, used = cmd.get_command(ctx, words[1]), words[:2]
    return cmd, used


def mentions(path: Path) -> list[tuple[int, str, list[str]]]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        for m in [*MENTION.finditer(line), *TABLE_ROW.finditer(line)]:
            rest = m.group(2).split()
            head = m.group(1).split()
            words = [*head, *[w for w in rest[:1] if len(head) == 1 and re.fullmatch(r"[a-z][a-z-]*", w)]]
            out.append((n, m.group(0), [*words, *[w.split("=")[0] for w in rest if w.startswith("--")]]))
    return out


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_named_command_and_flag_exists(path: Path) -> None:
    problems = []
    for line, text, words in mentions(path):
        names = [w for w in words if not w.startswith("--")]
        cmd, used = _command(names)
        if cmd is None:
            problems.append(f"{path.name}:{line}: no command `agentbook {' '.join(names)}` ({text})")
            continue
        known = {o for p in cmd.params for o in getattr(p, "opts", [])}
        problems += [f"{path.name}:{line}: `agentbook {' '.join(used)}` has no option {f}" for f in words
                     if f.startswith("--") and f not in known and not isinstance(cmd, click.Group)]
    assert not problems, "\n".join(problems)


def test_the_check_finds_a_made_up_flag(tmp_path: Path) -> None:
    page = tmp_path / "x.md"
    page.write_text("run `agentbook eval run SUITE --fail-on-regression` and `agentbook evals list`\n")
    found = mentions(page)
    assert [w for _, _, w in found] == [["eval", "run", "--fail-on-regression"], ["evals", "list"]]
    cmd, used = _command(["eval", "run"])
    assert cmd is not None and used == ["eval", "run"]
    assert "--fail-on-regression" not in {o for p in cmd.params for o in getattr(p, "opts", [])}
    assert _command(["evals", "list"])[0] is None
