"""The backtest folder (DESIGN.md, Backtest folder): where every file lives, and reading it back.

```
DIR/README.md  manifest.jsonl  report.md  charts/*.png  cohorts/<slug>.md  cohorts/index.json
DIR/investigations/<account>/<id>/{trace/, outcome.md, truth.md, meta.yaml, analysis.json, analysis.md}
DIR/.agentbook/   pipeline state: event log, batch ids, clustering labels
```
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from agentbook import yamlsafe
from agentbook.backtest.manifest import SAFE_NAME
from agentbook.errors import FatalError
from agentbook.fsutil import keep_out_of_git

STATE_DIR = ".agentbook"
ANALYSIS_JSON = "analysis.json"
ANALYSIS_MD = "analysis.md"
ANALYSIS_ERROR = "analysis.error.json"  # the last failure of an analysis; removed on success
TRACE_DIR = "trace"
MAX_META_BYTES = 1 << 20  # meta.yaml holds a few facts; the trace itself is a separate file
# libyaml's loader is ~10x faster; planning a 1,000-investigation run reads every meta.yaml
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str, source: str = "<yaml>") -> Any:
    return yamlsafe.load(text, source, loader=_LOADER, limit=MAX_META_BYTES)


@dataclass
class Investigation:
    """One imported investigation: its folder and the facts `meta.yaml` records about it."""

    id: str
    account: str
    path: Path  # DIR/investigations/<account>/<id>
    verdict: str
    score: float | None
    meta: dict[str, Any]

    @property
    def rel(self) -> str:
        """The folder relative to the backtest root, as reports link it."""
        return f"investigations/{self.account}/{self.id}"

    @property
    def correct(self) -> bool:
        return self.verdict == "correct"

    def analysis(self) -> dict[str, Any] | None:
        p = self.path / ANALYSIS_JSON
        if not p.is_file():
            return None
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            return None  # cannot happen with atomic writes unless edited by hand; treat as not done
        return data if isinstance(data, dict) else None


class BacktestFolder:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.jsonl"

    @property
    def investigations_dir(self) -> Path:
        return self.root / "investigations"

    @property
    def state(self) -> Path:
        # in a repository without `.agentbook/` in its .gitignore (the example has it) analyze-backtest's
        # first step committed import.json and was blocked by the guard (dogfood on kevinschaul/llm-evals)
        if self.root.is_dir():
            keep_out_of_git(self.root / STATE_DIR, "import, analysis and cluster records")
        return self.root / STATE_DIR

    @property
    def cohorts_dir(self) -> Path:
        return self.root / "cohorts"

    def investigation_dir(self, account: str, inv_id: str) -> Path:
        return self.investigations_dir / account / inv_id

    def require(self) -> BacktestFolder:
        if not self.manifest.is_file() or not self.investigations_dir.is_dir():
            raise FatalError(f"not a backtest folder: {self.root}",
                             hint="create one with `agentbook backtest import MANIFEST DIR`")
        return self

    def iter_investigations(self) -> Iterator[Investigation]:
        """Investigations in a stable order (account, then id); half-imported temp folders are skipped."""
        if not self.investigations_dir.is_dir():
            return
        for account_dir in sorted(self.investigations_dir.iterdir()):
            if account_dir.name.startswith(".") or not _own_folder(account_dir):
                continue
            for inv_dir in sorted(account_dir.iterdir()):
                if inv_dir.name.startswith(".") or not _own_folder(inv_dir) \
                        or not (inv_dir / "meta.yaml").is_file():
                    continue
                yield read_investigation(inv_dir)

    def investigations(self) -> list[Investigation]:
        return list(self.iter_investigations())


def _own_folder(path: Path) -> bool:
    """A real folder of the backtest's own, or False for a file; a symlink is refused: an investigation
    linked to /root or / would give its analyst's tools (whose root it is) and its writes that place."""
    if path.is_symlink():
        raise FatalError(f"{path} is a symlink; a backtest folder holds its investigations itself",
                         hint="re-import the backtest with `agentbook backtest import`")
    return path.is_dir()


def read_investigation(inv_dir: Path) -> Investigation:
    meta_path = inv_dir / "meta.yaml"
    if meta_path.is_symlink():
        raise FatalError("meta.yaml is a symlink; an imported investigation's is a file", location=str(meta_path))
    meta = load_yaml(yamlsafe.read_bytes(meta_path, limit=MAX_META_BYTES).decode("utf-8", "replace"),
                     str(meta_path)) or {}
    if not isinstance(meta, dict):
        raise FatalError("meta.yaml must be a mapping", location=str(meta_path))
    names = {key: str(meta.get(key, default)) for key, default in (("id", inv_dir.name),
                                                                    ("account", inv_dir.parent.name))}
    for key, name in names.items():
        if not SAFE_NAME.match(name):  # they name files: the analyst's transcript is <account>/<id>.jsonl
            raise FatalError(f"meta.yaml: {key} {name!r} is not a plain name (letters, digits, '.', '_', '-')",
                             location=str(meta_path))
    score = meta.get("score")
    return Investigation(id=names["id"], account=names["account"], path=inv_dir,
                         verdict=str(meta.get("verdict", "wrong")),
                         score=float(score) if isinstance(score, int | float) else None, meta=meta)
