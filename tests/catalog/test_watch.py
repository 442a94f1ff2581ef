"""The watch loop in-process: real files, real inotify events, the diff of findings per save."""

from __future__ import annotations

import queue
import threading
from pathlib import Path

from agentbook.catalog.findings import Finding
from agentbook.catalog.validate import ValidationReport
from agentbook.catalog.watch import watch

GOOD = "---\nname: alpha\ndescription: Fine.\n---\n# alpha\n"
BAD = "---\nname: alpha\ndescription: [x]\n---\n# alpha\n"


def test_watch_reports_new_then_fixed(tmp_path: Path) -> None:
    skill_md = tmp_path / "skills" / "alpha" / "SKILL.md"
    skill_md.parent.mkdir(parents=True)
    skill_md.write_text(GOOD)
    changes: queue.Queue[tuple[list[str], list[str]]] = queue.Queue()

    def on_change(new: list[Finding], fixed: list[Finding], report: ValidationReport) -> None:
        changes.put(([f.rule for f in new], [f.rule for f in fixed]))

    stop = threading.Event()
    worker = threading.Thread(target=watch, args=([tmp_path / "skills"], "spec", on_change),
                              kwargs={"stop": stop, "debounce": 0.05})
    worker.start()
    try:
        assert changes.get(timeout=60) == ([], [])
        skill_md.write_text(BAD)
        assert changes.get(timeout=60) == (["description-type"], [])
        (tmp_path / "skills" / "alpha" / "notes.txt").write_text("not watched")  # no report for this
        skill_md.write_text(GOOD)
        assert changes.get(timeout=60) == ([], ["description-type"])
        assert changes.empty()
    finally:
        stop.set()
        worker.join(timeout=30)
    assert not worker.is_alive()
