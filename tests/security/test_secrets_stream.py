"""The secret scan against big files. It read each pending file (and each pushed blob) whole: a file of
a gigabyte held a gigabyte (twice: bytes and text) and took most of a minute, a slow way to stop a run
that fails closed only when memory runs out. Now files and blobs are read a window at a time, each
window repeating the end of the one before, so a key cut by a window's edge (in every form: plain,
base64, hex, UTF-16, split over lines) is still found; a file over the size limit, or left when the
scan's time is up, is refused unscanned: the run ends `blocked` and nothing is committed."""

from __future__ import annotations

import base64
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from gitkit import COMPAT_KEY, GITHUB_TOKEN, agent, all_objects_text, bash, git, make_repo, run, set_secrets

from agentbook.gitops import leaks
from agentbook.gitops.git import Git
from agentbook.secretscan import SecretScanner, held_secrets

W = leaks.WINDOW

# name -> the bytes of the key's form, as written in the file
FORMS = {
    "plain": COMPAT_KEY.encode(),
    "base64": base64.b64encode(COMPAT_KEY.encode()),
    "hex": COMPAT_KEY.encode().hex().encode(),
    "UTF-16": COMPAT_KEY.encode("utf-16-le"),
    "split over lines": f'"{COMPAT_KEY[:9]}" +\n  "{COMPAT_KEY[9:]}"'.encode(),
}


def _scanner(monkeypatch: pytest.MonkeyPatch) -> SecretScanner:
    set_secrets(monkeypatch)
    return SecretScanner(held_secrets())


def _pending(tmp_path: Path, files: dict[str, bytes]) -> tuple[Git, Path]:
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    for name, data in files.items():
        (repo / name).write_bytes(data)
    return Git(repo), repo


@pytest.mark.parametrize("form", list(FORMS))
@pytest.mark.parametrize("edge", [1, 2, 3])
def test_a_key_cut_by_a_windows_edge_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str,
                                              edge: int) -> None:
    """The form starts a few bytes before the end of the first, second or third window."""
    data = FORMS[form]
    start = edge * W - len(data) // 2
    filler = b"line of text\n" * (start // 13 + 1)
    content = filler[:start] + data + b"\n" + b"z" * 100
    git, repo = _pending(tmp_path, {"big.txt": content})
    hits = leaks.scan_pending(git, repo, _scanner(monkeypatch))
    assert [h.secret for h in hits] == ["AGENTBOOK_COMPAT_API_KEY"], hits
    assert hits[0].line == content[:start].count(b"\n") + 1 or form == "split over lines"


def test_the_scan_holds_a_few_windows_not_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    size = 48 * W
    git, repo = _pending(tmp_path, {"huge.bin": b"\0\1abc" * (size // 5) + COMPAT_KEY.encode()})
    scanner = _scanner(monkeypatch)
    tracemalloc.start()
    try:
        hits = leaks.scan_pending(git, repo, scanner)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [h.secret for h in hits] == ["AGENTBOOK_COMPAT_API_KEY"]
    assert peak < 16 * W, f"peak {peak / W:.1f} windows for a file of 48"  # read whole: 96+ windows


def test_a_pushed_blob_is_streamed_and_a_key_at_its_edge_found(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    git_, repo = _pending(tmp_path, {"a.txt": b"base\n"})
    ident = ["-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "-C", str(repo), *ident, "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), *ident, "commit", "-qm", "base"], check=True)
    base = git(repo, "rev-parse", "HEAD").strip()
    (repo / "b.bin").write_bytes(b"x" * (2 * W - 7) + GITHUB_TOKEN.encode() + b"y" * 50)
    subprocess.run(["git", "-C", str(repo), *ident, "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), *ident, "commit", "-qm", "more"], check=True)
    head = git(repo, "rev-parse", "HEAD").strip()
    scanner = _scanner(monkeypatch)
    hits = leaks.scan_push(git_, base, head, "agentbook/x", scanner)
    assert [(h.path, h.secret) for h in hits] == [("b.bin", "GITHUB_TOKEN"), ("b.bin", "GitHub token")]
    monkeypatch.setenv(leaks.MAX_BYTES_ENV, str(W))
    hits = leaks.scan_push(git_, base, head, "agentbook/x", scanner)
    assert [(h.path, h.secret) for h in hits] == [("b.bin", "not scanned")] and "over the secret scan's limit" in hits[0].form


@pytest.mark.parametrize("limit", ["size", "time"])
def test_a_file_the_scan_cannot_finish_is_not_committed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys,
                                                        limit: str) -> None:
    """Through a real run: the agent writes a 3 MiB file with no key in it; over the size limit (1 MiB
    here) or past the scan's time, the run ends blocked, says why, and commits nothing."""
    set_secrets(monkeypatch)
    if limit == "size":
        monkeypatch.setenv(leaks.MAX_BYTES_ENV, str(W))
    else:
        monkeypatch.setenv(leaks.SECONDS_ENV, "0.000001")
    repo = make_repo(tmp_path)
    code, data, out = run(repo, agent(tmp_path, bash("head -c 3145728 /dev/zero | tr '\\0' a > big.txt")),
                          capsys=capsys)
    assert code == 11, out
    assert data["outcome"]["kind"] == "blocked" and data["outcome"]["reason"] == "secret"
    why = "3.0 MiB is over the secret scan's limit of 1.0 MiB per file" if limit == "size" else "ran out of time"
    assert "big.txt: not scanned: " in data["outcome"]["message"] and why in data["outcome"]["message"]
    assert "a" * 1000 not in all_objects_text(repo / ".git")  # never became an object
