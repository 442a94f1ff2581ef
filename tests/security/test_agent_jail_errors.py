"""An agent CLI whose jail never started: bubblewrap's own setup errors (a bind it cannot make) and the
launcher's (an agent command that is not there) go to the jail's stderr, which the runner keeps apart
from the agent's own (any process in the jail can write it, test_agent_stderr.py). The crash they cause
named no cause at all: the evidence was the agent's stderr, empty. The launcher now tells the runner on a
pipe of its own that it started (before anything of the agent's runs) and whether it could start the
agent: its words are the evidence (`launcher`), and when it never started, bubblewrap's stderr is
(`jail_setup`), which no process of the agent's can have written then."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from gitkit import commit_files, make_repo
from test_agent_output import COMMAND_SCRIPT, RUNBOOK

from agentbook.session.sandbox import bwrap_works

pytestmark = pytest.mark.skipif(not bwrap_works(), reason="agent CLIs run only in the jail")


def _crash(run_cli, repo: Path, agent: str) -> dict[str, Any]:
    r = run_cli("run", "probe", "--repo", repo, "--json", "--agent", agent, "--model", f"scripted:{COMMAND_SCRIPT}")
    assert "Traceback" not in r.err, r.err[-2000:]
    outcome = json.loads(r.out)["outcome"]
    assert outcome["kind"] == "crashed" and outcome["reason"] == "agent_exit", outcome
    return outcome["evidence"]


def test_a_bind_bubblewrap_cannot_make_is_the_crashs_evidence(run_cli, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    real = shutil.which("bwrap")
    assert real is not None
    shims = tmp_path / "shims"
    shims.mkdir()
    shim = shims / "bwrap"  # the real bubblewrap, asked for one bind more when it starts an agent CLI
    shim.write_text(f'#!/bin/sh\ncase "$*" in *relay_forward.py*) '
                    f'exec {real} --ro-bind /nonexistent-agentbook-source /opt/x "$@";; esac\nexec {real} "$@"\n')
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{shims}{os.pathsep}{os.environ['PATH']}")
    repo = commit_files(make_repo(tmp_path), {"runbooks/probe.md": RUNBOOK}, "a runbook")
    evidence = _crash(run_cli, repo, "command:true")
    assert evidence["stderr"] == "" and "launcher" not in evidence
    assert "nonexistent-agentbook-source" in evidence["jail_setup"]


def test_an_agent_command_that_is_not_there_says_so(run_cli, tmp_path: Path) -> None:
    repo = commit_files(make_repo(tmp_path), {"runbooks/probe.md": RUNBOOK}, "a runbook")
    evidence = _crash(run_cli, repo, "command:no-such-agent-cli --go")
    assert evidence["exit_code"] == 127 and "jail_setup" not in evidence
    assert evidence["launcher"].startswith("cannot start no-such-agent-cli")
