"""How often `agentbook validate --profile spec` gives the Agent Skills reference validator's verdict.

The peer is skills-ref (PyPI `skills-ref`, the spec's reference implementation, pinned in the dev
extra). Two corpora:
  skills-ref's own test suite   every test function of skills-ref/tests/test_validator.py, run as
                                written against skills-ref, then each skill folder it made is given
                                to agentbook too (needs a checkout of agentskills/agentskills);
  public skill collections      every SKILL.md of the collections found under --mirrors (bare git
                                repositories named OWNER+NAME/repo, as `fetch` leaves them), or a
                                deterministic sample of --sample per collection; only SKILL.md is
                                written out, as only it decides a verdict (links are warnings).
Printed per corpus: skills, agreement (same verdict: both accept or both refuse) as a percentage of
skills-ref's verdicts, and each disagreement grouped by agentbook's first error rule (or
skills-ref's first message when only it refuses), with the spec's reason where the difference is
a known, spec-justified one (tests/catalog/test_skills_ref.py DIFFERENCES and the README, "Catalog
and skills-ref"). Without skills-ref or without any collection the bench says so and exits 0.
Usage: bench_catalog_fidelity.py [--mirrors DIR (default $AGENTBOOK_SKILL_MIRRORS)] [--sample N] [--json] [--show K]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentbook.catalog.validate import validate_paths

ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS = ("anthropics+skills", "openai+skills", "UiPath+skills", "thereisnotime+skills-collection",
               "gabrielmoreira+agent-skills-mirror")
REFERENCE = "agentskills+agentskills"


@dataclass
class Verdict:
    where: str
    theirs: list[str]
    ours: list[str]  # "rule: message" of agentbook's errors
    warned: list[str] = field(default_factory=list)  # agentbook's warning rules

    @property
    def agree(self) -> bool:
        return bool(self.theirs) == bool(self.ours)


@dataclass
class Corpus:
    name: str
    verdicts: list[Verdict] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        n = len(self.verdicts)
        agree = sum(v.agree for v in self.verdicts)
        only_ours = Counter(v.ours[0].split(":")[0] for v in self.verdicts if v.ours and not v.theirs)
        only_theirs = Counter(_kind(v.theirs[0]) for v in self.verdicts if v.theirs and not v.ours)
        return {"corpus": self.name, "skills": n, "agree": agree, "agreement": agree / n if n else None,
                "both_accept": sum(not v.theirs and not v.ours for v in self.verdicts),
                "both_refuse": sum(bool(v.theirs and v.ours) for v in self.verdicts),
                "only_agentbook_refuses": dict(only_ours.most_common()),
                "only_skills_ref_refuses": dict(only_theirs.most_common())}


def _kind(message: str) -> str:
    """skills-ref's message without the values in it: 'Skill name must be lowercase'; a YAML error by its
    reason (strictyaml's last line), without line and column numbers."""
    if message.startswith("Invalid YAML"):
        found = re.search(r"\n(Found [^\n]*|[A-Z][^\n]*not allowed[^\n]*)", message)
        return "Invalid YAML: " + (found.group(1) if found else "")[:70]
    return " ".join(w for w in message.split() if not w.startswith("'"))[:80]


def verdict(folder: Path, reference: Callable[[Path], list[str]], where: str) -> Verdict:
    try:
        theirs = [str(m) for m in reference(folder)]
    except (UnicodeDecodeError, ValueError) as err:  # skills-ref raises on some files: a refusal too
        theirs = [f"raised {type(err).__name__}: {err}"]
    skill_md = {str(folder), str(folder / "SKILL.md"), str(folder / "skill.md")}
    found = [f for f in validate_paths([folder], "spec") if f.path in skill_md]
    return Verdict(where, theirs, [f"{f.rule}: {f.message}" for f in found if f.is_error],
                   [f.rule for f in found if not f.is_error])


# -- skills-ref's own test suite ---------------------------------------------------------------------

def reference_suite(checkout: Path, reference: Callable[[Path], list[str]]) -> Corpus:
    """Run each test of skills-ref's test_validator.py, then judge every skill folder it wrote."""
    corpus = Corpus("skills-ref test suite")
    tests = checkout / "skills-ref" / "tests" / "test_validator.py"
    spec = importlib.util.spec_from_file_location("skills_ref_test_validator", tests)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name in sorted(n for n in dir(module) if n.startswith("test_")):
        with tempfile.TemporaryDirectory() as tmp:
            getattr(module, name)(Path(tmp))  # skills-ref passes its own test, or this raises
            folders = [p.parent for p in Path(tmp).rglob("*") if p.name.lower() == "skill.md"]
            folders += [p for p in Path(tmp).iterdir() if p.is_dir() and not any(p.iterdir())]
            for folder in folders:
                corpus.verdicts.append(verdict(folder, reference, f"{name} ({folder.name})"))
    return corpus


# -- public collections --------------------------------------------------------------------------------

def _git(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", "--git-dir", str(repo), *args], check=True, capture_output=True).stdout


def tree(repo: Path) -> list[tuple[str, str, str]]:
    """(mode, blob id, path) of every file at HEAD."""
    out = []
    raw = _git(repo, "ls-tree", "-r", "-z", "HEAD").decode("utf-8", "surrogateescape")
    for entry in raw.split("\0"):
        if entry:
            meta, path = entry.split("\t", 1)
            mode, kind, oid = meta.split()
            if kind == "blob":
                out.append((mode, oid, path))
    return out


def sample(dirs: list[str], n: int) -> list[str]:
    """A deterministic sample: the same folders on every machine and every run."""
    return sorted(sorted(dirs, key=lambda d: hashlib.sha256(d.encode("utf-8", "surrogateescape")).digest())[:n])


def extract(repo: Path, files: list[tuple[str, str, str]], out: Path) -> None:
    """Write `files` under `out` (symlinks as files holding their target). A mirror may lack its
    largest blobs: those are left out, as a skill's SKILL.md never is."""
    batch = "".join(f"{oid}\n" for _, oid, _ in files).encode()
    proc = subprocess.run(["git", "--git-dir", str(repo), "cat-file", "--batch"], input=batch,
                          capture_output=True, check=True)
    data, pos = proc.stdout, 0
    for _, oid, path in files:
        end = data.index(b"\n", pos)
        header = data[pos:end].split()
        pos = end + 1
        if header[-1] == b"missing":
            continue
        size = int(header[2])
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data[pos:pos + size])
        pos += size + 1


def collection(repo: Path, name: str, n: int, reference: Callable[[Path], list[str]], out: Path) -> Corpus:
    corpus = Corpus(name)
    files = tree(repo)
    dirs = sorted({p.rsplit("/", 1)[0] for _, _, p in files if p.endswith("/SKILL.md")})
    chosen = sample(dirs, n)
    wanted = set(chosen)
    # Only SKILL.md decides a verdict (links to other files are warnings): the rest stays in git.
    extract(repo, [f for f in files if f[2].rsplit("/", 1)[-1] == "SKILL.md" and f[2].rsplit("/", 1)[0] in wanted],
            out)
    for rel in chosen:
        corpus.verdicts.append(verdict(out / rel, reference, f"{name}:{rel}"))
    return corpus


def reference_corpus(mirrors: Path, reference: Callable[[Path], list[str]]) -> Corpus | None:
    """skills-ref's own test suite, from a checkout of agentskills/agentskills under `mirrors`."""
    repo = mirrors / REFERENCE / "repo"
    if not repo.is_dir():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        files = [f for f in tree(repo) if f[2].startswith("skills-ref/tests/")]
        extract(repo, files, Path(tmp))
        return reference_suite(Path(tmp), reference)


def collection_corpora(mirrors: Path, n: int, reference: Callable[[Path], list[str]],
                       names: tuple[str, ...] = COLLECTIONS) -> list[Corpus]:
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            repo = mirrors / name / "repo"
            if repo.is_dir():
                (Path(tmp) / name).mkdir()
                out.append(collection(repo, name, n, reference, Path(tmp) / name))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mirrors", type=Path, default=os.environ.get("AGENTBOOK_SKILL_MIRRORS"),
                        help="folder of OWNER+NAME/repo bare clones (default: $AGENTBOOK_SKILL_MIRRORS)")
    parser.add_argument("--sample", type=int, default=300, help="skills per collection (default 300)")
    parser.add_argument("--show", type=int, default=3, help="disagreements shown per group")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    try:
        import skills_ref
    except ImportError:
        print("skills-ref is not installed (pip install -e '.[dev]'): nothing to compare with")
        return 0
    reference: Callable[[Path], list[str]] = skills_ref.validate
    if args.mirrors is None or not Path(args.mirrors).is_dir():
        print("no --mirrors folder (or $AGENTBOOK_SKILL_MIRRORS): nothing to compare")
        return 0
    args.mirrors = Path(args.mirrors)
    own = reference_corpus(args.mirrors, reference)
    corpora = ([own] if own else []) + collection_corpora(args.mirrors, args.sample, reference)
    if not corpora:
        print(f"no skill collections under {args.mirrors}: nothing to compare")
        return 0
    total = Corpus("all", [v for c in corpora for v in c.verdicts])
    summaries = [c.summary() for c in [*corpora, total]]
    if args.json:
        print(json.dumps({"summaries": summaries, "disagreements": [
            {"where": v.where, "skills_ref": v.theirs[:2], "agentbook": v.ours[:2]}
            for c in corpora for v in c.verdicts if not v.agree]}, indent=2, ensure_ascii=False))
        return 0
    print(f"{'corpus':36} {'skills':>6} {'agree':>6} {'agreement':>9}  both ok / both refuse")
    for s in summaries:
        rate = f"{s['agreement']:.1%}" if s["agreement"] is not None else "-"
        print(f"{s['corpus']:36} {s['skills']:6} {s['agree']:6} {rate:>9}  {s['both_accept']} / {s['both_refuse']}")
    disagreements = [v for v in total.verdicts if not v.agree]
    groups: dict[str, list[Verdict]] = {}
    for v in disagreements:
        key = f"only agentbook refuses: {v.ours[0].split(':')[0]}" if v.ours else \
            f"only skills-ref refuses: {_kind(v.theirs[0])}"
        groups.setdefault(key, []).append(v)
    for key, members in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        print(f"\n{len(members):5}  {key}")
        for v in members[:args.show]:
            print(f"       {v.where}\n         skills-ref: {v.theirs[:1]}\n         agentbook:  {v.ours[:1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
