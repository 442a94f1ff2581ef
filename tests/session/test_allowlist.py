"""The bash allow-list parser: every command a line would run is found, and matched word by word."""

from __future__ import annotations

import pytest

from agentbook.session import allowlist

ALLOW = ["agentbook eval *", "git diff*", "grep *"]


@pytest.mark.parametrize("line", [
    "agentbook eval list evals/suite.yaml",
    "agentbook eval run S --case 'a; rm -rf /'",           # operators inside quotes are data
    "agentbook eval run S > out.txt 2>&1",
    "grep -P '(^|/)0042-' OUT/index.tsv | agentbook eval show S x",
    "agentbook eval add S --file - <<'EOF'\nid: x\nvars: {q: '$(id)'}\nEOF",  # quoted here-doc: literal
    "agentbook eval run S && agentbook eval diff S latest || git diff --stat",
    "git diff\nagentbook eval list S\n",
    "git diff  # a comment; rm -rf /",
])
def test_under_bubblewrap_lines_whose_every_command_is_allowed_pass(line: str) -> None:
    assert allowlist.check(line, ALLOW, shell=True) is None


@pytest.mark.parametrize(("line", "why"), [
    ("git diff; rm -rf /", "command 'rm -rf /' not in the allow-list"),
    ("agentbook eval run S | sh", "command 'sh' not in the allow-list"),
    ("git diff $(id)", "command substitution $(...) is not allowed"),
    ("git diff \"`id`\"", "command substitution inside double quotes"),
    ("git diff <(id)", "process substitution <(...)"),
    ("(git diff)", "subshells"),
    ("{ git diff; }", "command groups"),
    ("git diff & rm x", "background jobs"),
    ("agentbook eval add S --file - <<EOF\n$(id)\nEOF", "unquoted here-document"),
    ("agentbook eval add S --file - <<'EOF'\nno end", "here-document not closed"),
    ("X=1 git diff", "not in the allow-list"),
    ("agentbook evaluate", "not in the allow-list"),
    ("git diff 'unclosed", "unclosed single quote"),
])
def test_under_bubblewrap_hidden_or_unlisted_commands_are_refused(line: str, why: str) -> None:
    reason = allowlist.check(line, ALLOW, shell=True)
    assert reason is not None and why in reason and reason.endswith("(allowed: agentbook eval *, git diff*, grep *)")


def test_without_bubblewrap_only_one_plain_command_runs() -> None:
    assert allowlist.check("agentbook eval run S --case 'a | b'", ALLOW, shell=False) is None
    assert allowlist.argv("agentbook eval run S --case 'a | b'") == ["agentbook", "eval", "run", "S", "--case", "a | b"]
    for line, syntax in (("git diff | grep x", "'|'"), ("git diff > f", "'>'"), ("git diff\ngit diff", "'\\n'")):
        reason = allowlist.check(line, ALLOW, shell=False)
        assert reason is not None and reason.startswith(f"command uses shell syntax {syntax}"), line


def test_patterns_match_whole_words() -> None:
    assert allowlist.matches(["agentbook", "eval"], "agentbook eval *")
    assert not allowlist.matches(["agentbook", "evaluate", "x"], "agentbook eval *")
    assert allowlist.matches(["git", "diff", "--stat"], "git diff*")
    assert not allowlist.matches(["git", "log"], "git diff*")
    assert allowlist.matches(["make", "test"], "make test") and not allowlist.matches(["make", "test", "x"], "make test")
    assert allowlist.check_pattern("agentbook eval *") is None
    assert "shell syntax" in (allowlist.check_pattern("agentbook eval * | sh") or "")
    assert "empty" in (allowlist.check_pattern("  ") or "")
