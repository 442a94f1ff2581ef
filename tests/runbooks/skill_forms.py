"""What the shipped skills teach an agent to run, as commands and as command forms.

A command is an inline code span of two or more words that starts with a program name, or a whole
`sh`/`bash`/`shell`/`console` fenced block (one script), in a skill's SKILL.md and its references.
The command tables of the references (`| `eval add SUITE (--file F \\| -)` | ... |`) are grammar, not
commands: they add forms (flags) but are not run as written.

A form is what a command needs from the CLI, the allow-list and the shell, with the arguments left
out: the command (`agentbook eval add`, `grep`), each flag given to it (`agentbook eval add --file`,
`grep -rn`), a bare `-` (stdin), and how commands are joined (`grep | cut`, a here-document into
`agentbook eval add`). Two commands with the same forms exercise the same paths; a scripted agent
that runs commands covering every taught form has run everything the skills tell an agent to run.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import click
from markdown_it import MarkdownIt
from tests.conftest import REPO_ROOT

from agentbook.session import allowlist

PROGRAMS = frozenset({"agentbook", "grep", "cut", "sort", "head", "tail", "cat", "ls", "git", "jq", "sed",
                      "awk", "find", "wc", "python", "python3", "curl", "promptfoo", "npx", "make"})
SHELL_FENCES = frozenset({"sh", "bash", "shell", "console"})
AGENTBOOK_GROUPS = ("eval", "baseline", "trace", "backtest")  # a table row may leave out `agentbook`


def _where(path: Path, token_map: list[int] | None) -> str:
    return f"{path.relative_to(REPO_ROOT)}:{(token_map or [0])[0] + 1}"


def skill_commands(skill_dir: Path) -> list[tuple[str, str]]:
    """(where, command) for every command the skill's markdown files show."""
    out: list[tuple[str, str]] = []
    md = MarkdownIt("commonmark")
    for path in sorted(skill_dir.rglob("*.md")):
        for token in md.parse(path.read_text()):
            if token.type == "fence" and token.info.strip() in SHELL_FENCES:
                out.append((_where(path, token.map), token.content))  # one script
            for child in token.children or []:
                words = child.content.split()
                if child.type == "code_inline" and len(words) > 1 and words[0] in PROGRAMS:
                    out.append((_where(path, token.map), child.content))
    return out


def skill_grammar(skill_dir: Path) -> list[tuple[str, str]]:
    """(where, synopsis) for each command-table row (`eval run SUITE [--case ID ...]`), as plain words."""
    out: list[tuple[str, str]] = []
    for path in sorted(skill_dir.rglob("*.md")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            cell = re.match(r"\|\s*`([^`]+)`\s*\|", line)
            if not cell or cell.group(1).split()[0] not in AGENTBOOK_GROUPS:
                continue
            words = cell.group(1).replace("\\|", " ").replace("...", " ")
            out.append((f"{path.relative_to(REPO_ROOT)}:{number}", "agentbook " + re.sub(r"[\[\]()]", " ", words)))
    return out


@cache
def _cli_group() -> click.Group:
    from agentbook.cli import cli

    return cli


def command_path(words: list[str]) -> list[str]:
    """The program and its subcommands: `agentbook eval cache clear`, `grep`."""
    if not words or words[0] != "agentbook":
        return words[:1]
    path, group = ["agentbook"], _cli_group()
    ctx = click.Context(group)
    for word in words[1:]:
        sub = group.get_command(ctx, word) if isinstance(group, click.Group) else None
        if sub is None:
            break
        path.append(word)
        group = sub  # type: ignore[assignment]
    return path


def _flag(word: str) -> str | None:
    if word == "-":
        return "-"  # stdin
    if not word.startswith("-") or word == "--":
        return None
    word = word.split("=", 1)[0]
    if not word.startswith("--") and len(word) > 2 and not word[2].isalpha():
        return word[:2]  # a short option with its value attached: -k6, -t$'\t'
    return word


def command_forms(words: list[str]) -> set[str]:
    path = command_path(words)
    head = " ".join(path)
    return {head} | {f"{head} {flag}" for w in words[len(path):] if (flag := _flag(w))}


def line_forms(line: str) -> set[str]:
    """Every form a command line uses (see the module doc)."""
    commands = allowlist.parse(line.strip()).commands
    forms: set[str] = set()
    for i, command in enumerate(commands):
        forms |= command_forms(command.words)
        head = " ".join(command_path(command.words))
        if command.heredoc:
            forms.add(f"{head} <<here-document")
        if command.after == "|" and i + 1 < len(commands):
            forms.add(f"{head} | {' '.join(command_path(commands[i + 1].words))}")
        elif command.after in ("&&", "||", ";"):
            forms.add(f"{head} {command.after}")
    return forms


def taught_forms(skill: str) -> dict[str, str]:
    """form -> where a shipped skill first teaches it."""
    folder = REPO_ROOT / "skills" / skill
    out: dict[str, str] = {}
    for where, line in skill_commands(folder):
        for form in sorted(line_forms(line)):
            out.setdefault(form, where)
    for where, synopsis in skill_grammar(folder):
        for form in sorted(command_forms(synopsis.split())):
            out.setdefault(form, where)
    return out
