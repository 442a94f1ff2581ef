"""`backtest run --executor ray` on a repository anyone may have written, from the CLI as a user types it.

Ray starts its workers outside every jail, as the runner's user, with the runner's environment (the API key,
the GitHub token), and by default puts the driver's working folder first on every worker's `sys.path`:
started in the repository's checkout, a package of the repository's (`agentbook/`) was the code the workers
imported. A local Ray is also found through a file in Ray's shared temporary folder (`/tmp/ray`, which Ray
makes writable by everyone), naming a cluster the runner would connect to and take results from.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentbook.session.sandbox import bwrap_works

pytestmark = [pytest.mark.skipif(not bwrap_works(), reason="bubblewrap cannot create namespaces here"),
              pytest.mark.timeout(600)]
pytest.importorskip("ray")

KEY = "sk-ant-api03-" + "RayWorkerStolenKey" * 4
AGENTBOOK = Path(sys.executable).parent / "agentbook"  # the console script, as a user runs it

PLANTED = '''\
import json, os, pathlib
pathlib.Path({stolen!r}).write_text(json.dumps(dict(os.environ)))
raise SystemExit("the repository's agentbook ran")
'''

# answers, and leaves a one-span OTLP trace, importing nothing of the checkout's (it runs in the jail)
SYSTEM = """\
import json, os
span = {"traceId": "ab" * 16, "spanId": "cd" * 8, "name": "invoke_agent system",
        "startTimeUnixNano": "1000", "endTimeUnixNano": "2000"}
with open(os.environ["AGENTBOOK_TRACE_FILE"], "w") as f:
    json.dump({"resourceSpans": [{"resource": {}, "scopeSpans": [{"scope": {"name": "s"}, "spans": [span]}]}]}, f)
print("Paris")
"""


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t", *args], check=True,
                   capture_output=True)


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A short folder for Ray's own temporary files (its unix sockets' paths must fit in 107 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="rt6-ray-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _repo(tmp_path: Path, stolen: Path) -> Path:
    repo = tmp_path / "checkout"
    (repo / "agentbook").mkdir(parents=True)
    (repo / "agentbook" / "__init__.py").write_text(PLANTED.format(stolen=str(stolen)))
    (repo / "system.py").write_text(SYSTEM)
    (repo / "run.yaml").write_text("command: python3 system.py\ninputs: inputs.jsonl\n"
                                   "assert:\n  - {type: icontains, value: Paris}\ntimeout: 60s\n")
    (repo / "inputs.jsonl").write_text("".join(json.dumps({"id": f"q{i}", "account": "a", "input": {"q": "x"}, "truth": "Paris"}) + "\n"
                                               for i in range(2)))
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "system")
    return repo


def _run(repo: Path, out: Path, ray_tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANTHROPIC_API_KEY": KEY, "RAY_TMPDIR": str(ray_tmp)}
    env.pop("RAY_ADDRESS", None)
    return subprocess.run([str(AGENTBOOK), "backtest", "run", "run.yaml", str(out), "--executor", "ray",
                           "--jobs", "2", "--json"], cwd=repo, env=env, capture_output=True, text=True, timeout=300,
                          check=False)


def test_ray_workers_do_not_import_the_checkouts_code(tmp_path: Path, short_tmp: Path) -> None:
    """`agentbook backtest run run.yaml OUT --executor ray` typed in the checkout: the workers import agentbook
    from its install, never the checkout's `agentbook/`, which ran as root outside the jail with the key."""
    stolen = tmp_path / "stolen.json"
    repo = _repo(tmp_path, stolen)
    proc = _run(repo, tmp_path / "out", short_tmp)
    assert not stolen.exists(), "the checkout's agentbook/ ran in a Ray worker with the runner's environment"
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout)
    assert (summary["done"], summary["correct"], summary["executor"]) == (2, 2, "ray")


def test_a_planted_ray_address_file_is_not_followed(tmp_path: Path, short_tmp: Path) -> None:
    """Ray's shared temporary folder (`/tmp/ray`, mode 0777 as Ray makes it) names the cluster a plain
    `ray.init()` joins: a user of the host who writes `ray_current_cluster` there had the runner connect to a
    cluster of theirs, ship it the work and unpickle what it answered. The runner starts a Ray of its own."""
    stolen = tmp_path / "stolen.json"
    repo = _repo(tmp_path, stolen)
    trap = socket.socket()
    trap.bind(("0.0.0.0", 0))  # Ray connects to the machine's address for a loopback one
    trap.listen(8)
    trap.setblocking(False)
    (short_tmp / "ray").mkdir()
    (short_tmp / "ray" / "ray_current_cluster").write_text(f"127.0.0.1:{trap.getsockname()[1]}\n")
    try:
        try:
            proc: subprocess.CompletedProcess[str] | None = _run(repo, tmp_path / "out", short_tmp)
        except subprocess.TimeoutExpired:
            proc = None
        try:
            conn, _ = trap.accept()
            conn.close()
            connected = True
        except BlockingIOError:
            connected = False
    finally:
        trap.close()
    assert not connected, "the runner connected to the cluster a planted ray_current_cluster named"
    assert proc is not None and proc.returncode == 0, (proc.stderr[-3000:] if proc else "timed out")


class _OldRay:
    """What `start` asks of Ray, as a Ray before 2.59 answers it (its local cluster takes any client)."""

    __version__ = "2.51.1"

    def __init__(self) -> None:
        self.started = False

    def init(self, **_: object) -> None:
        self.started = True


def test_a_ray_that_takes_any_client_is_not_started_on_the_users_silence(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ray's local cluster listens on every interface (GCS, raylet, workers: `*:PORT`) and runs what a client
    submits, as root with the runner's keys; before 2.59 no token was asked for unless RAY_AUTH_MODE said so."""
    from agentbook.backtest.ray_executor import start
    from agentbook.errors import FatalError

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    old = _OldRay()
    with pytest.raises(FatalError, match="without authentication"):
        start(old)
    assert not old.started
    monkeypatch.setenv("RAY_AUTH_MODE", "token")  # the user asked for Ray's tokens (2.52 on)
    start(old)
    assert old.started
