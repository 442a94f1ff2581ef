"""The runner's git itself: whatever config, hooks, attributes or environment surround it, it runs
no program the agent (or a stray global setting) chose, and sees no API key except where a push
needs its credentials."""

from __future__ import annotations

import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from gitkit import (
    ANTHROPIC_KEY,
    COMPAT_KEY,
    GITHUB_TOKEN,
    agent,
    bash,
    branch_files,
    git,
    make_repo,
    run,
    set_secrets,
)

from agentbook.gitops.commits import commit_all, diff_stat
from agentbook.gitops.git import Git
from agentbook.gitops.worktree import has_changes


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_helper_never_enters_a_committed_nested_repo(tmp_path: Path) -> None:
    """Below the runner's own checks: with a nested repository already committed as a gitlink (the
    way the old runner recorded one), the git helper checks status, adds, diffs and commits while
    that repository's fsmonitor and hooks are commands, and runs none of them."""
    pwn = tmp_path / "pwned"
    repo = make_repo(tmp_path)
    nested = repo / "n"
    nested.mkdir()
    git(nested, "init", "-q")
    (nested / "f").write_text("x\n")
    git(nested, "add", "f")
    git(nested, "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "x")
    git(repo, "add", "n")
    git(repo, "commit", "-qm", "gitlink")
    git(nested, "config", "core.fsmonitor", f"sh -c 'touch {pwn}; exit 1'")
    _script(nested / ".git" / "hooks" / "post-index-change", f"touch {pwn}")
    (nested / "f").write_text("dirty\n")
    (nested / "untracked").write_text("y\n")
    (repo / "new.txt").write_text("x\n")
    assert has_changes(repo)
    sha = commit_all(repo, "more\n")
    assert sha and diff_stat(Git(repo), "HEAD~1", "HEAD")
    assert not pwn.exists()


def test_repository_hooks_never_run(tmp_path: Path, capsys) -> None:
    """Hooks in the main repository (pre-commit, post-checkout, reference-transaction, ...) would run
    with the runner's environment on every step: none runs."""
    pwn = tmp_path / "pwned"
    repo = make_repo(tmp_path)
    hooks = repo / ".git" / "hooks"
    for name in ("pre-commit", "commit-msg", "prepare-commit-msg", "post-commit", "post-checkout",
                 "reference-transaction", "post-index-change", "pre-push"):
        _script(hooks / name, f"env >> {pwn}")
    code, data, out = run(repo, agent(tmp_path, bash("echo x > new.txt")), capsys=capsys)
    assert code == 0, out
    assert not pwn.exists()
    assert "new.txt" in branch_files(repo, data["branch"])


def test_global_config_commands_never_run_but_identity_is_kept(tmp_path: Path, monkeypatch, capsys) -> None:
    """A global config with an fsmonitor, a hook path, a pager and a credential helper: none runs.
    Its identity is still the one commits carry."""
    pwn = tmp_path / "pwned"
    hookdir = tmp_path / "hooks"
    hookdir.mkdir()
    _script(hookdir / "pre-commit", f"touch {pwn}")
    payload = f"sh -c 'touch {pwn}; exit 1'"
    globalcfg = tmp_path / "global.gitconfig"
    globalcfg.write_text(f'[user]\n\tname = Global Person\n\temail = global@example.com\n[core]\n'
                         f'\tfsmonitor = "{payload}"\n\thooksPath = {hookdir}\n\tpager = "{payload}"\n'
                         f'[credential]\n\thelper = "!{payload}"\n[diff]\n\texternal = "{payload}"\n')
    repo = make_repo(tmp_path)
    git(repo, "config", "--unset", "user.name")
    git(repo, "config", "--unset", "user.email")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(globalcfg))
    code, data, out = run(repo, agent(tmp_path, bash("echo x > new.txt")), capsys=capsys)
    assert code == 0, out
    assert not pwn.exists()
    assert git(repo, "log", "-1", "--format=%an <%ae>", data["branch"]).strip() == "Global Person <global@example.com>"


def test_signing_program_sees_no_secret(tmp_path: Path, monkeypatch, capsys) -> None:
    """The user's signing program still signs the runner's commits, and the environment git hands
    it holds no API key or token (git's environment is an allow-list)."""
    set_secrets(monkeypatch)
    seen = tmp_path / "gpg-env"
    # Like gpg, it reads all of the commit git writes to its stdin before it answers: one that exits
    # first makes git's write fail (EPIPE) when git is scheduled late, "gpg failed to sign the data".
    gpg = _script(tmp_path / "fake-gpg", f'cat > /dev/null\nenv > {seen}\nprintf "\\n[GNUPG:] SIG_CREATED D 1 8 00 0 X\\n" >&2\n'
                  'printf -- "-----BEGIN PGP SIGNATURE-----\\nfake\\n-----END PGP SIGNATURE-----\\n"')
    repo = make_repo(tmp_path)
    git(repo, "config", "commit.gpgsign", "true")
    git(repo, "config", "gpg.program", str(gpg))
    git(repo, "config", "user.signingkey", "ABCDEF")
    code, data, out = run(repo, agent(tmp_path, bash("echo x > new.txt")), capsys=capsys)
    assert code == 0, out
    env = seen.read_text()
    assert "PATH=" in env  # it ran
    for value in (ANTHROPIC_KEY, GITHUB_TOKEN, COMPAT_KEY):
        assert value not in env
    assert "gpgsig" in git(repo, "cat-file", "commit", data["branch"])


def test_push_environment_has_no_model_key_and_no_ext_transport(tmp_path: Path, monkeypatch, capsys) -> None:
    """Push gets what credentials need; the model's keys stay out. `ext::` URLs (a command as a
    transport) are refused."""
    set_secrets(monkeypatch)
    seen = tmp_path / "push-env"
    repo = make_repo(tmp_path)
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    git(repo, "config", "remote.origin.receivepack", f"env > {seen}; git-receive-pack")
    code, data, out = run(repo, agent(tmp_path, bash("echo x > new.txt")), "--push", capsys=capsys)
    assert code == 0, out
    assert data["push"]["pushed"] is True
    env = seen.read_text()
    assert ANTHROPIC_KEY not in env and COMPAT_KEY not in env
    pwn = tmp_path / "pwned"
    git(repo, "remote", "add", "evil", f"ext::sh -c touch% {pwn}")
    code, data, out = run(repo, agent(tmp_path, bash("echo y > other.txt"), name="second"), "--push=evil",
                          "--branch", "second", capsys=capsys)
    assert not pwn.exists()
    assert data.get("push", {}).get("pushed") is not True, out


@pytest.fixture
def outside_tmp() -> Iterator[Path]:
    """A folder outside /tmp: the sandbox gives bash a private /tmp, which would hide the main
    repository's `.git` and make the test easier than real life (a checkout in a home or CI dir)."""
    path = Path(tempfile.mkdtemp(prefix="agentbook-sec-", dir="/var/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_agent_cannot_configure_the_runner_git(outside_tmp: Path, tmp_path: Path, capsys) -> None:
    """From its bash the agent tries to set config keys that run commands (written to the shared
    `.git/config`, which it can see read-only), to point its `.git` file elsewhere, and to ship
    attributes naming drivers: the repository's config is unchanged, nothing runs, and the run's
    commits land on its branch."""
    pwn = tmp_path / "pwned"
    repo = make_repo(outside_tmp)
    config_before = (repo / ".git" / "config").read_bytes()
    payload = '"$PWD/p.sh"'
    attempts = "; ".join([
        f"printf '#!/bin/sh\\ntouch {pwn}\\nexit 1\\n' > p.sh", "chmod +x p.sh",
        f"git config core.fsmonitor {payload}", f"git config filter.ev.clean {payload}",
        f"git config diff.ev.textconv {payload}", f"git config core.sshCommand {payload}",
        f"git config core.pager {payload}", f"git config --worktree core.fsmonitor {payload}",
        'git config includeIf.gitdir:/.path "$PWD/inc"',
        "printf '[core]\\n\\tfsmonitor = %s\\n' \"$PWD/p.sh\" > inc",
        "printf 'gitdir: /tmp/elsewhere\\n' > .git",
        "printf '* filter=ev diff=ev merge=ev\\n' > .gitattributes",
        "printf '[filter \"ev\"]\\n\\tclean = %s\\n' \"$PWD/p.sh\" > .gitconfig",
        "echo x > new.txt"])
    code, data, out = run(repo, agent(tmp_path, bash(attempts)), capsys=capsys)
    assert code == 0, out
    assert not pwn.exists()
    assert (repo / ".git" / "config").read_bytes() == config_before
    transcript = (Path(data["run_dir"]) / "transcript.jsonl").read_text()
    assert "Read-only file system" in transcript  # the attempts reached the files and were refused
    files = branch_files(repo, data["branch"])
    assert "new.txt" in files and git(repo, "cat-file", "blob", f"{data['branch']}:new.txt") == "x\n"


def test_symlinks_are_committed_as_links_not_as_what_they_reach(tmp_path: Path, capsys) -> None:
    """A symlink to a file outside the worktree is committed as a link (its target's path), never
    the outside file's content."""
    outside = tmp_path / "outside-secret.txt"
    outside.write_text("the host's private data\n")
    repo = make_repo(tmp_path)
    code, data, out = run(repo, agent(tmp_path, bash(f"ln -s {outside} leak.txt && ln -s ../../../.. up")),
                          capsys=capsys)
    assert code == 0, out
    files = branch_files(repo, data["branch"])
    assert files["leak.txt"] == "120000" and files["up"] == "120000"
    assert git(repo, "cat-file", "blob", f"{data['branch']}:leak.txt") == str(outside)
    assert "private data" not in git(repo, "log", "-p", data["branch"])
