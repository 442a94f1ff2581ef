"""Secrets at commit time, like GitHub push protection but before `git add`: a scripted agent writes
a key the runner holds (or one shaped like a well-known key) in every form it can think of. Each time
the run ends `blocked` (reason `secret`) with file:line and the secret's name as evidence, commits
nothing (the branch stays at the base, and no object in the repository's store holds the key), and
neither its output nor its records show the key or the form it was written in."""

from __future__ import annotations

import base64
import json
import re
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from gitkit import (
    ANTHROPIC_KEY,
    COMPAT_KEY,
    EXTRA_SECRET,
    GITHUB_TOKEN,
    agent,
    all_objects_text,
    bash,
    branch_files,
    files_under,
    git,
    make_repo,
    run,
    set_secrets,
    write,
)

_SQUEEZE = re.compile(r"(?:\\[nrt]|[\s\"'+\\])+")  # what lies between the pieces of a split key (JSON too)


def b64(value: str, prefix: str = "") -> str:
    return base64.b64encode((prefix + value).encode()).decode()


def pct(value: str) -> str:
    """Every byte percent-encoded, as a URL may carry it."""
    return "".join(f"%{b:02X}" for b in value.encode())


def u_escapes(value: str) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in value)


def mixed_case_hex(value: str) -> str:
    return "".join(c.upper() if i % 3 else c for i, c in enumerate(value.encode().hex()))


def octal(data: bytes) -> str:
    """`data` as a printf format (octal escapes): binary content through bash without quoting trouble."""
    return "".join(f"\\{b:03o}" for b in data)


# name -> (the agent's turns, the form the key was written in (for "nowhere" checks), the path and
# line the finding must name, the secret's name in the finding)
ATTACKS: dict[str, tuple[list[dict[str, Any]], str, str, int, str]] = {
    "plain": ([write("notes.txt", f"hello\ntoken = {GITHUB_TOKEN}\n")], GITHUB_TOKEN, "notes.txt", 2, "GITHUB_TOKEN"),
    "base64": ([write("a.cfg", f"x: 1\ny: 2\nkey: {b64(ANTHROPIC_KEY)}\n")], b64(ANTHROPIC_KEY), "a.cfg", 3,
               "ANTHROPIC_API_KEY"),
    "base64 shifted by one byte": ([write("b.txt", b64(ANTHROPIC_KEY, "x"))], b64(ANTHROPIC_KEY, "x"), "b.txt", 1,
                                   "ANTHROPIC_API_KEY"),
    "base64 shifted by two bytes": ([write("c.txt", b64(GITHUB_TOKEN, "xy"))], b64(GITHUB_TOKEN, "xy"), "c.txt", 1,
                                    "GITHUB_TOKEN"),
    "url-safe base64": ([write("d.txt", base64.urlsafe_b64encode(b"\xfb\xff" + ANTHROPIC_KEY.encode()).decode())],
                        base64.urlsafe_b64encode(b"\xfb\xff" + ANTHROPIC_KEY.encode()).decode(), "d.txt", 1,
                        "ANTHROPIC_API_KEY"),
    "base64 wrapped over lines": ([bash(f"printf %s '{ANTHROPIC_KEY}' | base64 -w 16 > w.b64")],
                                  b64(ANTHROPIC_KEY), "w.b64", 1, "ANTHROPIC_API_KEY"),
    "hex": ([write("e.txt", "\n\n" + COMPAT_KEY.encode().hex())], COMPAT_KEY.encode().hex(), "e.txt", 3,
            "AGENTBOOK_COMPAT_API_KEY"),
    "upper-case hex": ([write("f.txt", GITHUB_TOKEN.encode().hex().upper())], GITHUB_TOKEN.encode().hex().upper(),
                       "f.txt", 1, "GITHUB_TOKEN"),
    "reversed": ([write("g.txt", f"# {COMPAT_KEY[::-1]}\n")], COMPAT_KEY[::-1], "g.txt", 1, "AGENTBOOK_COMPAT_API_KEY"),
    "split over lines (python)": ([write("h.py", f'K = ("{COMPAT_KEY[:15]}"\n     "{COMPAT_KEY[15:]}")\n')],
                                  COMPAT_KEY, "h.py", 1, "AGENTBOOK_COMPAT_API_KEY"),
    "split over lines (shell continuation)": ([write("i.sh", f"T={COMPAT_KEY[:10]}\\\n{COMPAT_KEY[10:]}\n")],
                                              COMPAT_KEY, "i.sh", 1, "AGENTBOOK_COMPAT_API_KEY"),
    "split over lines (js concatenation)": ([write("j.js", f"const k = '{COMPAT_KEY[:8]}' +\n  '{COMPAT_KEY[8:20]}' +"
                                                           f"\n  '{COMPAT_KEY[20:]}';\n")],
                                            COMPAT_KEY, "j.js", 1, "AGENTBOOK_COMPAT_API_KEY"),
    "reversed and split": ([write("k.txt", f"{COMPAT_KEY[::-1][:12]}\n{COMPAT_KEY[::-1][12:]}\n")],
                           COMPAT_KEY[::-1], "k.txt", 1, "AGENTBOOK_COMPAT_API_KEY"),
    "in a file name": ([bash(f"mkdir -p out && echo x > 'out/{COMPAT_KEY}.txt'")], COMPAT_KEY,
                       "out/[REDACTED].txt", 0, "AGENTBOOK_COMPAT_API_KEY"),  # the finding's path is redacted too
    "in a file name, percent-encoded": ([bash(f"mkdir -p out && echo x > 'out/{pct(COMPAT_KEY)}.txt'")], pct(COMPAT_KEY),
                                        "out/[REDACTED].txt", 0, "AGENTBOOK_COMPAT_API_KEY"),
    "as a symlink target": ([bash(f"ln -s '/nowhere/{COMPAT_KEY}' l")], COMPAT_KEY, "l", 1, "AGENTBOOK_COMPAT_API_KEY"),
    "inside a binary file": ([bash(f"printf '{octal(b'PNG' + bytes(range(0, 256, 7)) + COMPAT_KEY.encode() + bytes(9))}'"
                                   " > img.png")], COMPAT_KEY, "img.png", 1, "AGENTBOOK_COMPAT_API_KEY"),
    "as UTF-16": ([bash(f"printf '%s\\n' '{COMPAT_KEY}' | iconv -f UTF-8 -t UTF-16 > u16.txt")], COMPAT_KEY,
                  "u16.txt", 1, "AGENTBOOK_COMPAT_API_KEY"),
    "as UTF-32, reversed": ([bash(f"printf '%s\\n' '{COMPAT_KEY[::-1]}' | iconv -f UTF-8 -t UTF-32BE > u32.txt")],
                            COMPAT_KEY[::-1], "u32.txt", 1, "AGENTBOOK_COMPAT_API_KEY"),
    "EBCDIC that .gitattributes turns into UTF-8": (
        [bash("printf '*.dat working-tree-encoding=IBM037\\n' > .gitattributes && "
              f"printf 'id\\nkey {COMPAT_KEY}\\n' | iconv -f UTF-8 -t IBM037 > k.dat")],
        COMPAT_KEY, "k.dat", 2, "AGENTBOOK_COMPAT_API_KEY"),
    "appended to a tracked file deep in the tree": (
        [bash(f"mkdir -p src/a/b/c && cp src/app.py src/a/b/c/app.py && echo '# {GITHUB_TOKEN}' >> src/app.py")],
        GITHUB_TOKEN, "src/app.py", 2, "GITHUB_TOKEN"),
    "percent-encoded": ([write("p.txt", f"GET /?token={pct(GITHUB_TOKEN)}\n")], pct(GITHUB_TOKEN), "p.txt", 1,
                        "GITHUB_TOKEN"),
    "percent-encoded in part": ([write("p2.txt", "x\n" + GITHUB_TOKEN.replace("R8sT", "%52%38s%54"))],
                                GITHUB_TOKEN.replace("R8sT", "%52%38s%54"), "p2.txt", 2, "GITHUB_TOKEN"),
    "base64, percent-encoded in a URL": (
        [write("q.txt", "https://x.example/cb?k=" + urllib.parse.quote(b64(ANTHROPIC_KEY, "ab"), safe="") + "\n")],
        urllib.parse.quote(b64(ANTHROPIC_KEY, "ab"), safe=""), "q.txt", 1, "ANTHROPIC_API_KEY"),
    "JSON \\u escapes": ([write("r.json", '{"k": "' + u_escapes(COMPAT_KEY) + '"}\n')], u_escapes(COMPAT_KEY),
                         "r.json", 1, "AGENTBOOK_COMPAT_API_KEY"),
    "JSON \\u escapes, escaped again": ([write("r2.json", json.dumps({"k": u_escapes(COMPAT_KEY)}))],
                                        json.dumps(u_escapes(COMPAT_KEY))[1:-1], "r2.json", 1,
                                        "AGENTBOOK_COMPAT_API_KEY"),
    "\\x escapes (python bytes)": ([write("s.py", "K = b'" + "".join(f"\\x{b:02x}" for b in ANTHROPIC_KEY.encode())
                                          + "'\n")], "".join(f"\\x{b:02x}" for b in ANTHROPIC_KEY.encode()),
                                   "s.py", 1, "ANTHROPIC_API_KEY"),
    "HTML character references": ([write("t.html", "<p>" + "".join(f"&#{ord(c)};" for c in GITHUB_TOKEN) + "</p>\n")],
                                  "".join(f"&#{ord(c)};" for c in GITHUB_TOKEN), "t.html", 1, "GITHUB_TOKEN"),
    "hex in mixed case": ([write("u.txt", mixed_case_hex(COMPAT_KEY))], mixed_case_hex(COMPAT_KEY), "u.txt", 1,
                          "AGENTBOOK_COMPAT_API_KEY"),
    "base64 as `base64` wraps it (76 columns)": (
        [bash(f"printf %s 'prefix, then the key: {ANTHROPIC_KEY}' | base64 > v.b64")],
        b64(ANTHROPIC_KEY, "prefix, then the key: "), "v.b64", 1, "ANTHROPIC_API_KEY"),
    "url-safe base64 without padding": (
        [write("w.txt", base64.urlsafe_b64encode(b"\xff" + GITHUB_TOKEN.encode()).decode().rstrip("="))],
        base64.urlsafe_b64encode(b"\xff" + GITHUB_TOKEN.encode()).decode().rstrip("="), "w.txt", 1, "GITHUB_TOKEN"),
    "base64 of hex (xxd -p | base64)": (
        [bash(f"printf %s '{COMPAT_KEY}' | xxd -p | tr -d '\\n' | base64 -w 0 > x2.txt")],
        base64.b64encode(COMPAT_KEY.encode().hex().encode()).decode(), "x2.txt", 1, "AGENTBOOK_COMPAT_API_KEY"),
    "hex of base64 over lines (base64 | xxd -p)": (
        [bash(f"printf %s '{GITHUB_TOKEN}' | base64 -w 0 | xxd -p > y2.txt")],
        base64.b64encode(GITHUB_TOKEN.encode()).hex(), "y2.txt", 1, "GITHUB_TOKEN"),
    "held under a --secret name": ([write("m.txt", f"pw={EXTRA_SECRET}\n")], EXTRA_SECRET, "m.txt", 1,
                                   "DEPLOY_PASSPHRASE"),
    "held under a --secret name, base64": ([write("n.txt", b64(EXTRA_SECRET, "a"))], b64(EXTRA_SECRET, "a"),
                                           "n.txt", 1, "DEPLOY_PASSPHRASE"),
}

# Keys the runner does not hold, in the shapes of well-known credentials (made up, never valid).
SHAPES = {
    "Anthropic API key": "sk-ant-api03-ZZ9plural-Z-alpha0123456789abcdef",
    "GitHub token": "ghs_abcdefghijklmnopqrstuvwxyz0123",
    "GitHub fine-grained token": "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
    "AWS access key id": "AKIAQWERTYUIOPASDFGH",
    "Slack token": "xoxb-1234567890-abcdefghij",
    "GitLab token": "glpat-abcdefghij0123456789",
    "Google API key": "AIza" + "Sy" + "A" * 33,
    "Stripe key": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "npm token": "npm_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
    "private key": "-----BEGIN OPENSSH PRIVATE KEY-----",
}


def _nowhere(form: str, *texts: str) -> None:
    """Neither `form` nor the form with its pieces squeezed together appears in any of `texts`."""
    squeezed_form = _SQUEEZE.sub("", form)
    for text in texts:
        assert form not in text
        assert squeezed_form not in _SQUEEZE.sub("", text)


def _committed(repo: Path, branch: str) -> int:
    """Commits the run made on its branch (a run that made none deletes the branch: 0 too)."""
    if not git(repo, "branch", "--list", branch).strip():
        return 0
    return int(git(repo, "rev-list", "--count", f"main..{branch}"))


def _assert_blocked(repo: Path, code: int, data: dict[str, Any], out: str, path: str, line: int, name: str,
                    form: str) -> None:
    assert code == 11, out
    assert data["outcome"]["kind"] == "blocked" and data["outcome"]["reason"] == "secret", out
    findings = data["outcome"]["evidence"]["secrets"]
    assert {"path": path, "line": line, "secret": name} in [
        {k: f[k] for k in ("path", "line", "secret")} for f in findings], findings
    where = f"{path}:{line}: {name}" if line else f"{path} (its name): {name}"
    assert where in data["outcome"]["message"]
    assert _committed(repo, data["branch"]) == 0
    records = files_under(Path(data["run_dir"]))
    _nowhere(form, out, all_objects_text(repo / ".git"), *records.values())
    _nowhere(json.dumps(form)[1:-1], *records.values())  # as the transcript's JSON writes it


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_a_held_secret_in_any_form_commits_nothing(attack: str, tmp_path: Path, monkeypatch, capsys) -> None:
    turns, form, path, line, name = ATTACKS[attack]
    set_secrets(monkeypatch)
    monkeypatch.setenv("DEPLOY_PASSPHRASE", EXTRA_SECRET)  # a name no rule treats as secret: only --secret
    repo = make_repo(tmp_path)
    code, data, out = run(repo, agent(tmp_path, *turns), "--secret", "DEPLOY_PASSPHRASE", capsys=capsys)
    _assert_blocked(repo, code, data, out, path, line, name, form)


@pytest.mark.parametrize("kind", sorted(SHAPES))
def test_a_key_shape_commits_nothing(kind: str, tmp_path: Path, capsys) -> None:
    """No held value needed: a string shaped like a known credential blocks the commit too."""
    repo = make_repo(tmp_path)
    key = SHAPES[kind]
    code, data, out = run(repo, agent(tmp_path, write("config/settings.ini", f"[auth]\nkey = {key}\n")),
                          capsys=capsys)
    _assert_blocked(repo, code, data, out, "config/settings.ini", 2, kind, key)


def test_a_secret_in_a_later_step_keeps_the_earlier_commit_only(tmp_path: Path, monkeypatch, capsys) -> None:
    """Step 1 is clean and committed; step 2 writes the key: the branch ends at step 1's commit."""
    set_secrets(monkeypatch)
    repo = make_repo(tmp_path)
    script = agent(tmp_path, write("clean.txt", "fine\n"), {"text": "Step done."},
                   write("late.txt", f"{b64(GITHUB_TOKEN)}\n"), {"text": "Done."})
    code, data, out = run(repo, script, capsys=capsys)
    assert code == 11 and data["outcome"]["reason"] == "secret", out
    assert [s["status"] for s in data["steps"]] == ["done", "blocked"]
    assert git(repo, "rev-list", "--count", f"main..{data['branch']}").strip() == "1"
    files = branch_files(repo, data["branch"])
    assert "clean.txt" in files and "late.txt" not in files
    _nowhere(b64(GITHUB_TOKEN), out, all_objects_text(repo / ".git"))


def test_a_secret_in_unfinished_work_is_not_committed_as_wip(tmp_path: Path, monkeypatch, capsys) -> None:
    """A step that runs out of turns keeps its work as a WIP commit, after the same scan: with a key
    in it there is no WIP commit, and the outcome says why (secret, not the budget)."""
    set_secrets(monkeypatch)
    repo = make_repo(tmp_path)
    turns = [write("wip.txt", f"{ANTHROPIC_KEY[::-1]}\n")] + [bash("true")] * 6
    code, data, out = run(repo, agent(tmp_path, *turns), "--max-turns", "3", capsys=capsys)
    assert code == 11 and data["outcome"]["reason"] == "secret", out
    assert _committed(repo, data["branch"]) == 0
    _nowhere(ANTHROPIC_KEY[::-1], out, all_objects_text(repo / ".git"))


def test_a_secret_past_path_max_commits_nothing(tmp_path: Path, capsys) -> None:
    """git adds a file by its path below the worktree's top, the scan read it by its full path: a file
    4,080 characters below the top (20 folders of 200) has a full path past PATH_MAX, so the scan's
    `lstat` failed (ENAMETOOLONG) and skipped it, and git committed the key in it unread."""
    repo = make_repo(tmp_path)
    folder, name = "a" * 200, "f" * 60
    make = f"for i in $(seq 20); do mkdir {folder} && cd {folder} || exit 1; done; printf 'k = %s\\n' '{GITHUB_TOKEN}' > {name}"
    code, data, out = run(repo, agent(tmp_path, bash(make)), capsys=capsys)
    assert code == 11, out
    outcome = data["outcome"]
    assert outcome["kind"] == "blocked" and outcome["reason"] == "secret", outcome
    assert any("cannot be read" in str(h) for h in outcome["evidence"]["secrets"]), outcome["evidence"]
    assert GITHUB_TOKEN not in all_objects_text(repo / ".git")
