"""`make changelog` (.ci/changelog.py): the Unreleased section lists the commits since the last
release tag by area, and nothing else in CHANGELOG.md changes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / ".ci" / "changelog.py"
HAND_WRITTEN = "## 0.1.0\n\nWritten by hand: first version.\n"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=repo,
                          check=True, capture_output=True, text=True).stdout


def commit(repo: Path, subject: str) -> str:
    name = f"{abs(hash(subject))}.txt"  # a file per commit: branches merge without conflicts
    (repo / name).write_text(subject)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", subject)
    return git(repo, "rev-parse", "--short", "HEAD").strip()


def changelog(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), "--repo", str(repo), *args], capture_output=True,
                          text=True, check=False)


def test_commits_since_the_tag_grouped_by_area(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    template = (REPO_ROOT / "CHANGELOG.md").read_text()
    head, _, _ = template.partition("<!-- unreleased:end -->")
    (repo / "CHANGELOG.md").write_text(head.split("<!-- unreleased:begin")[0]
                                       + "<!-- unreleased:begin (make changelog rewrites this section) -->\n"
                                       + "<!-- unreleased:end -->\n\n" + HAND_WRITTEN)
    git(repo, "add", "CHANGELOG.md")
    commit(repo, "session: released before the tag")
    git(repo, "tag", "v0.1.0")
    a = commit(repo, "session: budgets count cached tokens")
    git(repo, "checkout", "-q", "-b", "side")
    b = commit(repo, "evals: diff shows flipped cases")
    git(repo, "checkout", "-q", "main")
    c = commit(repo, "Fix a typo in the README")
    git(repo, "merge", "-q", "--no-edit", "side")

    assert changelog(repo, "--check").returncode == 1
    done = changelog(repo)
    assert done.returncode == 0, done.stderr
    text = (repo / "CHANGELOG.md").read_text()
    section = text.split("<!-- unreleased:begin")[1].split("<!-- unreleased:end -->")[0]
    assert "Changes since v0.1.0" in section
    assert f"### evals\n\n- diff shows flipped cases ({b})" in section
    assert f"### session\n\n- budgets count cached tokens ({a})" in section
    assert f"### other\n\n- Fix a typo in the README ({c})" in section
    assert section.index("### evals") < section.index("### session") < section.index("### other")
    assert "released before the tag" not in section and "Merge" not in section
    assert text.endswith(HAND_WRITTEN)
    again = changelog(repo, "--check")
    assert again.returncode == 0, again.stdout
    assert changelog(repo).stdout.strip() == "CHANGELOG.md: unchanged"


def test_a_file_without_the_markers_is_refused_and_kept(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q")
    commit(repo, "x: y")
    (repo / "CHANGELOG.md").write_text("# Changelog\n")
    done = changelog(repo)
    assert done.returncode != 0 and "must hold the markers" in done.stderr
    assert (repo / "CHANGELOG.md").read_text() == "# Changelog\n"


def test_the_projects_changelog_has_its_markers() -> None:
    assert changelog(REPO_ROOT, "--check").returncode in (0, 1)  # 2+ would mean it cannot be read
