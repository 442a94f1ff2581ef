"""The jail's probe started early by the launcher (`sandbox.probe_early`) is the one `resolve_mode`
uses: it runs once per process, in its own thread, and a session still gets its answer."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import threading
from agentbook.session import jail, sandbox
sandbox.probe_early()
sandbox.probe_early()
threads = [t for t in threading.enumerate() if t.name == "agentbook-jail-probe"]
mode = sandbox.resolve_mode("auto")
print(len(threads) <= 1, jail.problem.cache_info().misses, mode, [t.name for t in threading.enumerate()])
"""


def test_the_early_probe_is_the_one_resolve_mode_waits_for() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.split() == ["True", "1", "bwrap", "['MainThread']"], done.stdout + done.stderr


def test_the_launcher_starts_it_for_a_session_only_when_the_jail_may_be_asked(tmp_path) -> None:
    probe = ("import sys\nsys.argv = ['agentbook', *sys.argv[1:]]\nfrom agentbook import launcher\n"
             "import agentbook.cli\nagentbook.cli.console_main = lambda: print('agentbook-jail-probe' if getattr("
             "sys.modules.get('agentbook.session.sandbox'), '_early', None) else 'none')\nlauncher.main()\n")

    def threads(*args: str) -> str:
        return subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, check=True,
                              timeout=120).stdout.strip()

    assert "agentbook-jail-probe" in threads("session", "--root", str(tmp_path), "task")
    assert "agentbook-jail-probe" not in threads("session", "--sandbox", "none-i-accept-the-risk", "task")
    assert "agentbook-jail-probe" not in threads("session", "--help")
    assert "agentbook-jail-probe" not in threads("validate")
