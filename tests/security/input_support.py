"""Shared by the untrusted-input attack tests: a folder outside the root whose every byte is checked
afterwards, and the writing of hostile files."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

BOMB_LEVELS = 9  # 9 levels of 9 aliases each: 9**9 (387 million) values once expanded


def billion_laughs(indent: str = "", levels: int = BOMB_LEVELS) -> str:
    """YAML lines defining anchors l0..lN, each a list of nine aliases of the previous one."""
    lines = [f'{indent}l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, levels):
        lines.append(f"{indent}l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def tree_digest(root: Path) -> dict[str, str]:
    """Every path under `root` (symlinks not followed) with a digest of its content or link target."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                out[rel] = "link:" + os.readlink(path)
            elif path.is_file():
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                out[rel] = "dir"
    return out


class Outside:
    """A folder next to the root holding files an attacker would like to read or overwrite."""

    def __init__(self, base: Path) -> None:
        self.path = base / "outside"
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / "secret.txt").write_text("TOP-SECRET-CONTENT\n")
        (self.path / "suite.yaml").write_text(
            'prompts: ["{{q}}"]\nproviders: [echo]\ntests:\n  - id: stolen\n    vars: {q: TOP-SECRET-CONTENT}\n')
        (self.path / "cases").mkdir(exist_ok=True)
        (self.path / "cases" / "stolen.yaml").write_text("id: stolen\nvars: {q: TOP-SECRET-CONTENT}\n")
        self.before = tree_digest(self.path)

    def unchanged(self) -> bool:
        return tree_digest(self.path) == self.before
