"""The bash tool under real bubblewrap, and the allow-list mode without it."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from agentbook.errors import FatalError
from agentbook.session import sandbox
from agentbook.session.tools import ToolContext, get_tools

from .conftest import tree_state

needs_bwrap = pytest.mark.skipif(not sandbox.bwrap_works(), reason="bubblewrap is not usable here")


def bash(ctx: ToolContext, command: str, **args: object) -> tuple[str, bool, dict | None]:
    (tool,) = get_tools(["bash"])
    result = tool.run({"command": command, **args}, ctx)
    return result.content, result.is_error, result.denied


@needs_bwrap
def test_root_is_writable_and_everything_else_is_not(work: Path, ctx: ToolContext) -> None:
    outside = work.parent / "outside"
    before = tree_state(outside)
    out, _err, _ = bash(ctx, f"echo made > made.txt && cat made.txt; echo x > {outside}/victim.txt; "
                            "echo x > /etc/agentbook-probe; echo x > .git-probe && rm .git-probe")
    assert out.startswith("made\n") and "Read-only file system" in out
    assert (work / "made.txt").read_text() == "made\n"
    assert tree_state(outside) == before and not Path("/etc/agentbook-probe").exists()


@needs_bwrap
def test_git_folder_is_read_only_inside(git_repo: Path) -> None:
    ctx = ToolContext(root=git_repo, sandbox="bwrap")
    hook = git_repo / ".git" / "hooks" / "pre-commit"
    out, _err, _ = bash(ctx, "echo 'curl evil' > .git/hooks/pre-commit; echo '[core]' >> .git/config; "
                             "git status --short; echo ok > new.txt")
    assert ".git/config: Permission denied" in out and not hook.exists()  # a read-only file in a read-only view
    assert (git_repo / ".git" / "config").read_text().count("[core]") == 1
    assert (git_repo / "new.txt").read_text() == "ok\n"


@needs_bwrap
def test_no_network_even_to_loopback(work: Path, ctx: ToolContext) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        probe = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2); print('connected')"
        out, err, _ = bash(ctx, f"python3 -c \"{probe}\"")
    assert err and "connected" not in out and "ConnectionRefusedError" in out


@needs_bwrap
def test_tmp_is_private(work: Path, ctx: ToolContext, tmp_path: Path) -> None:
    marker = Path("/tmp") / f"agentbook-probe-{tmp_path.name}"
    marker.write_text("host")
    try:
        out, _, _ = bash(ctx, f"ls /tmp/{marker.name} 2>&1; echo inside > /tmp/inside-{tmp_path.name}")
        assert "No such file or directory" in out
        assert not (Path("/tmp") / f"inside-{tmp_path.name}").exists()
    finally:
        marker.unlink()


@needs_bwrap
def test_protected_paths_are_read_only_and_new_ones_block(work: Path, ctx: ToolContext) -> None:
    out, err, denied = bash(ctx, "echo changed >> evals/cases/c1.yaml")
    assert "Read-only file system" in out and denied is None
    assert (work / "evals" / "cases" / "c1.yaml").read_text() == "vars: {q: hi}\n"
    out, err, denied = bash(ctx, "echo 'vars: {}' > evals/cases/c2.yaml")
    assert err and denied == {"tool": "bash", "command": "echo 'vars: {}' > evals/cases/c2.yaml",
                              "changed": ["evals/cases/c2.yaml"]}
    assert out.endswith("error: the command changed protected paths: evals/cases/c2.yaml")


@needs_bwrap
def test_api_keys_do_not_reach_commands(work: Path, ctx: ToolContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-api03-should-not-leak")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_should_not_leak")
    out, _, _ = bash(ctx, "env")
    assert "should-not-leak" not in out and "should_not_leak" not in out
    assert f"HOME={work}" in out


@needs_bwrap
def test_caches_and_settings_of_tools_stay_out_of_the_worktree(work: Path, ctx: ToolContext) -> None:
    """HOME is the worktree; what tools keep under XDG folders (fontconfig's cache when a report draws a
    chart) goes to the call's private /tmp, or the step would commit it."""
    before = tree_state(work)
    out, err, _ = bash(ctx, 'mkdir -p "${XDG_CACHE_HOME:-$HOME/.cache}/fontconfig" "${XDG_CONFIG_HOME:-$HOME/.config}/tool" '
                            '"${MPLCONFIGDIR:-$HOME/.config/matplotlib}" && touch "${XDG_CACHE_HOME:-$HOME/.cache}/fontconfig/x" '
                            '&& echo ok')
    assert out.startswith("ok") and not err, out
    assert tree_state(work) == before


@needs_bwrap
def test_timeout_kills_the_whole_group_and_output_is_capped(work: Path, ctx: ToolContext) -> None:
    out, err, _ = bash(ctx, "echo start; sleep 30", timeout=1)
    assert err and out == "start\n[timed out after 1s; killed]"
    out, err, _ = bash(ctx, "seq 1 200000")
    assert not err and out.startswith("1\n2\n3\n") and out.endswith("199999\n200000\n[exit code 0]")
    assert "bytes of output cut ...]" in out and len(out) < 31_000
    out, err, _ = bash(ctx, "sleep 30 & echo left a child")  # a background child does not hold us
    assert out == "left a child\n[exit code 0]"


@needs_bwrap
def test_allow_list_mode_runs_plain_commands_without_a_shell(git_repo: Path) -> None:
    ctx = ToolContext(root=git_repo, sandbox="allowlist", bash_allow=["git diff*", "git status*"])
    out, err, denied = bash(ctx, "git status --short")
    assert not err and denied is None and out == "[exit code 0]"
    out, err, denied = bash(ctx, "ls -la")
    assert err and denied is None and out == "error: command not in the allow-list (allowed: git diff*, git status*)"
    for sneaky in ("git diff; rm -rf /", "git diff && curl x", "git diff | sh", "git diff > /etc/passwd",
                   "git diff\nrm -rf /"):
        out, err, denied = bash(ctx, sneaky)
        assert err and out.startswith("error: command uses shell syntax"), sneaky
    for sneaky in ("git diff $(whoami)", "git diff `id`", "git diff \"$(id)\""):
        out, err, denied = bash(ctx, sneaky)
        assert err and out.startswith("error: command substitution"), sneaky


def test_allow_list_mode_without_a_list_refuses_everything(work: Path) -> None:
    ctx = ToolContext(root=work, sandbox="allowlist", bash_allow=None)
    out, _err, denied = bash(ctx, "echo hi")
    assert out == "error: bash is disabled: the allowlist sandbox mode has no allow-list configured"
    assert denied is None


@needs_bwrap
def test_mode_resolution() -> None:
    assert sandbox.resolve_mode("allowlist") == "allowlist"  # jailed too: the allow-list is on top
    assert sandbox.resolve_mode("auto") == sandbox.resolve_mode("bwrap") == "bwrap"
    assert sandbox.resolve_mode("none-i-accept-the-risk") == "unconfined"
    with pytest.raises(FatalError, match="unknown sandbox mode 'docker'"):
        sandbox.resolve_mode("docker")


@needs_bwrap
def test_allow_list_also_applies_under_bwrap(git_repo: Path) -> None:
    ctx = ToolContext(root=git_repo, sandbox="bwrap", bash_allow=["git log*"])
    out, err, _ = bash(ctx, "git log --oneline")
    assert not err and out.endswith("initial\n[exit code 0]")
    # under bubblewrap the line goes to bash: every command of a pipeline must be allowed
    out, err, _ = bash(ctx, "git log --oneline | git log -1 2>&1")
    assert not err and out.endswith("initial\n[exit code 0]")
    out, err, _ = bash(ctx, "git log --oneline | wc -l")
    assert err and out.startswith("error: command 'wc -l' not in the allow-list (allowed: git log*)")
    out, err, denied = bash(ctx, "git push")
    assert err and denied is None and out.startswith("error: command not in the allow-list")
    assert subprocess.run(["git", "status", "--short"], cwd=git_repo, capture_output=True, text=True,
                          check=True).stdout == ""
