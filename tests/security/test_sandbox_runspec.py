"""Attacks through a `backtest run` spec's paths. The spec is a file of the system's repository, and
`backtest close-loop` reads it from the fix branch the agent wrote; its `repo:` is bound into the jail
of the system's command, so `repo: /etc` showed the host's /etc over the jail's own (with
/etc/shadow), `repo: /` or `/root` the runner's home and sockets. A spec's `repo:` and `inputs:` (and
the spec itself, a link out of the tree) must stay in the repository that holds it; and the jail
itself refuses to show a host place it hides, whoever asks."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from agentbook.backtest.produce import produce_backtest
from agentbook.cli import main
from agentbook.session import jail
from agentbook.session.limits import Limits
from agentbook.session.sandbox import bwrap_works

pytestmark = pytest.mark.skipif(not bwrap_works(), reason="bubblewrap cannot create namespaces here")

TOKEN = "ghs_Fq3ZpR8sT2uV4wX6yZ0aB1cD3eF5gH7iJ9kL"
# prints every file of its folder: what a hostile system does with what it is shown
SYSTEM = ("import os; open(os.environ['AGENTBOOK_TRACE_FILE'], 'w').write('{}'); "
          "print([open(n, errors='replace').read() for n in sorted(os.listdir('.')) if os.path.isfile(n)])")


def _world(tmp_path: Path, spec: str) -> Path:
    """A system repository (git) holding `run.yaml`, and beside it a folder with a token on disk."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "credentials").write_text(f"https://x-access-token:{TOKEN}@github.com\n")
    (elsewhere / "in.jsonl").write_text(json.dumps({"id": "i1", "account": "a", "input": {}, "truth": "t"}) + "\n")
    repo = tmp_path / "system"
    repo.mkdir()
    (repo / "in.jsonl").write_text((elsewhere / "in.jsonl").read_text())
    (repo / "run.yaml").write_text(f"command: [python, -c, {json.dumps(SYSTEM)}]\n"
                                   "assert: [{type: contains, value: x}]\n" + spec)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo


def _refused(tmp_path: Path, spec: Path, capsys: pytest.CaptureFixture[str], words: str) -> str:
    code = main(["backtest", "run", str(spec), str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert code == 3, (out, err)
    assert words in err and "Traceback" not in err, err
    assert not (tmp_path / "out").exists()  # refused before anything ran
    assert TOKEN not in out + err and "root:" not in out + err
    return err


@pytest.mark.parametrize("repo", ["/etc", "/", "../elsewhere"])
def test_repo_outside_the_specs_repository_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      repo: str) -> None:
    spec = _world(tmp_path, f"inputs: in.jsonl\nrepo: {repo}\n")
    err = _refused(tmp_path, spec / "run.yaml", capsys, "is outside the repository that holds the spec")
    assert f"{spec / 'run.yaml'}:4: repo:" in err


def test_inputs_outside_the_specs_repository_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = _world(tmp_path, "inputs: ../elsewhere/in.jsonl\n")
    _refused(tmp_path, spec / "run.yaml", capsys, "inputs:")


def test_a_spec_that_is_a_link_out_of_its_repository_is_not_read(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    repo = _world(tmp_path, "inputs: in.jsonl\n")
    outside = tmp_path / "elsewhere" / "run.yaml"
    outside.write_text((repo / "run.yaml").read_text() + "repo: .\n")  # valid there: its own folder
    (repo / "linked.yaml").symlink_to(outside)
    _refused(tmp_path, repo / "linked.yaml", capsys, "leads outside its repository")


def test_the_repository_itself_is_shown_and_read(tmp_path: Path) -> None:
    """The same spec with its own repository runs: what the refusals above keep is not the whole feature."""
    repo = _world(tmp_path, "inputs: in.jsonl\nrepo: .\n")
    summary = produce_backtest(repo / "run.yaml", tmp_path / "out")
    assert summary.done == 1
    assert "x-access-token" not in (tmp_path / "out" / "runs" / "i1" / "stdout.txt").read_text()
    assert "command:" in (tmp_path / "out" / "runs" / "i1" / "stdout.txt").read_text()


@pytest.mark.parametrize("place", ["/", "/etc", "/etc/ssl", "/proc", "/proc/1", "/run", "/root", "/dev", "/tmp",
                                   "/sys/fs"])
def test_the_jail_never_shows_what_it_hides(tmp_path: Path, place: str) -> None:
    """Whoever asks (a run spec, an agent CLI's binary folder): a host place the jail hides or replaces
    is never bound into it, and nothing runs."""
    with pytest.raises(jail.JailUnavailable, match="would show what the sandbox hides"):
        jail.prepare(tmp_path, Limits(), argv=["cat", "/etc/shadow"], host_ro=[place])


def test_a_folder_of_the_callers_is_still_shown(tmp_path: Path) -> None:
    shown = tmp_path / "shown"
    shown.mkdir()
    (shown / "f").write_text("visible\n")
    root = tmp_path / "root"
    root.mkdir()
    call = jail.prepare(root, Limits(), argv=["cat", str(shown / "f")], host_ro=[str(shown)])
    try:
        done = subprocess.run(call.argv, pass_fds=call.pass_fds, capture_output=True, text=True, timeout=60,
                              env={"PATH": "/usr/bin:/bin"}, check=False)
    finally:
        call.close()
    assert done.stdout == "visible\n", done.stderr


def test_the_repositorys_git_data_is_not_shown(tmp_path: Path) -> None:
    """actions/checkout keeps the job's token in .git/config (http.extraheader) unless told not to: the
    system's command, shown its repository, does not see the repository's git data at all."""
    repo = _world(tmp_path, "inputs: in.jsonl\nrepo: .\n")
    subprocess.run(["git", "-C", str(repo), "config", "http.https://github.com/.extraheader",
                    f"AUTHORIZATION: basic {TOKEN}"], check=True)
    (repo / "run.yaml").write_text((repo / "run.yaml").read_text().replace(
        "sorted(os.listdir('.'))", "sorted(os.listdir('.')) + ['.git/config']"))
    summary = produce_backtest(repo / "run.yaml", tmp_path / "out")
    assert summary.done == 1
    seen = (tmp_path / "out" / "runs" / "i1" / "stdout.txt").read_text()
    assert "command:" in seen and TOKEN not in seen
    assert TOKEN in (repo / ".git" / "config").read_text()  # still there for the runner's own git


# --- the disk limit of the system's command -------------------------------------------------------

FLOOD = ("import os, sys; open(os.environ['AGENTBOOK_TRACE_FILE'], 'w').write('{}'); "
         "[sys.stdout.buffer.write(bytes(1 << 20)) for _ in range(48)]")


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_output_past_the_disk_limit_stops_the_command(tmp_path: Path, stream: str) -> None:
    """The command's stdout and stderr are files of its run folder, beside its `work` folder, which was all
    the disk limit metered: each grew to the 1G file_size, 25 investigations at once. It writes 48 MiB past
    a limit of 8M and exits at once: the walk after it exits stops it too."""
    repo = _world(tmp_path, "inputs: in.jsonl\nlimits: {disk: 8M}\n")
    (repo / "run.yaml").write_text((repo / "run.yaml").read_text().replace(
        json.dumps(SYSTEM), json.dumps(FLOOD.replace("stdout", stream))))
    summary = produce_backtest(repo / "run.yaml", tmp_path / "out")
    assert summary.done == 0 and [f["reason"] for f in summary.failed] == ["disk"], summary.failed


def test_a_large_input_is_not_counted_against_the_command(tmp_path: Path) -> None:
    """The input the runner writes into `work` is there before the command starts: a 12 MiB one under a
    limit of 8M is not the command's growth."""
    repo = _world(tmp_path, "inputs: in.jsonl\nlimits: {disk: 8M}\n")
    row = {"id": "i1", "account": "a", "input": {"logs": "x" * (12 << 20)}, "truth": "t"}
    (repo / "in.jsonl").write_text(json.dumps(row) + "\n")
    (repo / "run.yaml").write_text((repo / "run.yaml").read_text().replace(
        json.dumps(SYSTEM), json.dumps("import os; open(os.environ['AGENTBOOK_TRACE_FILE'], 'w').write('{}')")))
    summary = produce_backtest(repo / "run.yaml", tmp_path / "out")
    assert summary.done == 1, summary.failed
