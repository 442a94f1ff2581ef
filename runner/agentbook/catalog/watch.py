"""`agentbook validate --watch`: re-validate on every save and report only what changed."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from agentbook.catalog.discover import default_paths
from agentbook.catalog.findings import Finding
from agentbook.catalog.validate import ValidationReport, validate

OnChange = Callable[[list[Finding], list[Finding], ValidationReport], None]
_WATCHED_SUFFIXES = (".md", ".yaml", ".yml")


class _Changed(FileSystemEventHandler):
    def __init__(self, flag: threading.Event) -> None:
        self.flag = flag

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        names = [str(event.src_path), str(getattr(event, "dest_path", "") or "")]
        if event.is_directory or any(n.endswith(_WATCHED_SUFFIXES) for n in names):
            self.flag.set()


def watch(paths: Sequence[Path | str], profile: str, on_change: OnChange, *,
          stop: threading.Event | None = None, debounce: float = 0.2) -> ValidationReport:
    """Validate now, then after every burst of saves; `on_change(new, fixed, report)` each time
    something differs (the first call lists everything). Returns the last report when `stop` is set
    or on Ctrl-C."""
    stop = stop or threading.Event()
    changed = threading.Event()
    observer = Observer()
    for folder, recursive in _watch_points(paths):
        observer.schedule(_Changed(changed), str(folder), recursive=recursive)
    observer.start()
    report = ValidationReport()
    try:
        report = validate(paths, profile)
        on_change(report.findings, [], report)
        while not stop.is_set():
            if not changed.wait(0.1):
                continue
            stop.wait(debounce)  # let an editor finish writing (save = write + rename + chmod)
            changed.clear()
            before = set(report.findings)
            report = validate(paths, profile)
            after = set(report.findings)
            new = [f for f in report.findings if f not in before]
            fixed = sorted(before - after, key=lambda f: (f.path, f.line, f.col, f.rule))
            if new or fixed:
                on_change(new, fixed, report)
    except KeyboardInterrupt:
        pass
    finally:
        observer.stop()
        observer.join(timeout=5)
    return report


def _watch_points(paths: Sequence[Path | str]) -> list[tuple[Path, bool]]:
    given = [Path(p) for p in paths] or default_paths(Path.cwd()) or [Path.cwd()]
    points: list[tuple[Path, bool]] = []
    for path in given:
        if path.is_dir():
            points.append((path, True))
        elif path.parent.is_dir():
            points.append((path.parent, False))
    return points
