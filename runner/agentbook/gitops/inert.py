"""Untrusted text in what GitHub renders and acts on: the pull request's title and body, commit messages.

The ticket's title, a runbook's step titles, a check's output, the files' names and the agent's last
words are the ticket author's to steer. Put into a pull request as they are, they could act on the
repository: "Fixes #12" (or `acme/other#3`, `GH-4`, an issue URL) in a body or a commit message closes
that issue when the branch is merged; "@org/team" notifies people; and as Markdown they could draw a
fake "all checks passed" section, hide text in an HTML comment, or load an image from the attacker's
server when a reviewer opens the page. So:

- `block` and `span` show such text literally: a fenced code block or a code span whose fence is
  longer than any run of backticks in it, so nothing inside can close it and none of it is Markdown.
- `inert` breaks what GitHub acts on even inside code: a closing keyword followed by an issue
  reference, and an @-mention, get a WORD JOINER (U+2060, invisible) after their first character.
  Run it over the whole text *after* secrets are redacted (a joiner inside a secret would hide it
  from the redactor).
"""

from __future__ import annotations

import bisect
import re

from agentbook.fence import visible

JOINER = "\u2060"
# GitHub's closing keywords, when a reference follows: #12, owner/repo#12, GH-12, .../issues/12 or /pull/12
# (at the end of a longer word too: breaking "prefix #1" costs nothing, missing a form GitHub reads would).
# Not a keyword that goes on as a word or a path ("fix-prompt/gh-12", "fixed_in/#3"): GitHub reads the
# keyword only before a space, a colon or the reference, and the joiner hid itself inside the branch a
# report names (`agentbook/f<U+2060>ix-prompt/gh-12`: a ticket GH-12's branch, copied, is not found)
# The reference is looked for in one pass over the text, not from each keyword: a lookahead
# `[\s:]*\S*?(?:#\d|...)` rescanned the rest of the word for every keyword in it and every split of a run of
# colons, so a ticket title of `fix.` 60,000 times (or `fix` and 250,000 colons) held the runner for minutes
# at every commit message and the report.
_KEYWORD = re.compile(r"(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)(?![\w/-])", re.IGNORECASE)
_REFERENCE = re.compile(r"(?=#\d|gh-\d|/(?:issues|pull)/\d)", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s:]*+")
_SPACE = re.compile(r"\s")
# an @-mention: @user or @org/team, not the @ inside an e-mail address or a package@version
_MENTION = re.compile(r"(?<![\w.+/`-])@(?=[A-Za-z0-9])")
_BACKTICKS = re.compile(r"`+")
# ASCII punctuation that makes Markdown (links, images, HTML, code, emphasis, headings, table cells, entities)
# under CommonMark with GitHub's tables and strike-through; a backslash makes each literal (a list marker or a
# bare URL is left: it makes a list or a visible link, nothing hidden)
_MARKUP = re.compile(r"([\\`*_{}\[\]()#!|<>~&])")


def inert(text: str) -> str:
    """`text` with every closing keyword that precedes an issue reference, and every @-mention, broken."""
    return _MENTION.sub("@" + JOINER, _break_closing(text))


def _break_closing(text: str) -> str:
    """Each closing keyword followed (past spaces and colons) by a word that holds an issue reference from
    there on, broken by a joiner after its first letter."""
    refs = [m.start() for m in _REFERENCE.finditer(text)]
    if not refs:
        return text
    spaces = [m.start() for m in _SPACE.finditer(text)]
    out, last = [], 0
    for m in _KEYWORD.finditer(text):
        word = _SEPARATORS.match(text, m.end()).end()  # type: ignore[union-attr]  # `*` always matches
        ref = bisect.bisect_left(refs, word)
        space = bisect.bisect_left(spaces, word)
        if ref < len(refs) and refs[ref] < (spaces[space] if space < len(spaces) else len(text)):
            out += [text[last:m.start()], m.group(0)[0], JOINER, m.group(0)[1:]]
            last = m.end()
    return "".join(out) + text[last:]


def _longest_backticks(text: str) -> int:
    return max((len(m) for m in _BACKTICKS.findall(text)), default=0)


def plain(text: str, limit: int = 2000) -> str:
    """`text` on one line as literal prose: every character Markdown could act on escaped, so it makes
    no link, image, HTML, heading, emphasis or table cell, yet reads as the words it is."""
    flat = " ".join(visible(text).split())
    if len(flat) > limit:
        flat = flat[:limit] + "..."
    return _MARKUP.sub(r"\\\1", flat)


def block(text: str, empty: str = "(none)") -> str:
    """`text` as a fenced code block that nothing in it can close (lines, without a trailing newline)."""
    body = visible(text.rstrip("\n")) or empty
    fence = "`" * max(3, _longest_backticks(body) + 1)
    return f"{fence}text\n{body}\n{fence}"


def span(text: str, limit: int = 300) -> str:
    """`text` on one line (whitespace runs, newlines included, become a space) as a code span."""
    flat = " ".join(visible(text).split())
    if len(flat) > limit:
        flat = flat[:limit] + "..."
    if not flat:
        return "` `"
    ticks = "`" * (_longest_backticks(flat) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{ticks}{pad}{flat}{pad}{ticks}"
