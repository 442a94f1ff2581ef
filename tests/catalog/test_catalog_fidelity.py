"""agentbook's `--profile spec` gives the verdict of skills-ref, the spec's reference validator, on real
public skills, except where the spec's own words decide otherwise (listed below and in the README,
"Catalog and skills-ref").

In CI: the real skills kept in fixtures/wild/ (PROVENANCE.md says where each is from). Where bare
clones of public skill collections and of agentskills/agentskills are at $AGENTBOOK_SKILL_MIRRORS
(OWNER+NAME/repo, as bench/bench_catalog_fidelity.py reads them): skills-ref's own test suite and a
sample of every collection too, every disagreement explained by a spec rule. The bench measures the
whole collections.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType

import pytest
from bench.loader import load_module
from tests.conftest import REPO_ROOT

from agentbook.catalog.validate import validate_paths

skills_ref = pytest.importorskip("skills_ref", reason="skills-ref is in the dev extra (pip install -e '.[dev]')")

WILD = Path(__file__).parent / "fixtures" / "wild"
MIRRORS = Path(os.environ.get("AGENTBOOK_SKILL_MIRRORS", "/nonexistent"))

# The spec says these values are strings ("a map from string keys to string values"; name, description,
# compatibility and license are text): YAML loaders read an unquoted date, number, boolean or list as
# something else. skills-ref reads every scalar as a string (strictyaml) and does not look inside metadata.
STRING_RULES = frozenset({"metadata-value", "metadata-type", "name-type", "description-type", "compatibility-type",
                          "license-type", "allowed-tools-type"})
# skills-ref refuses YAML that the spec's "YAML frontmatter" allows: strictyaml's own restrictions.
STRICTYAML = ("JSONesque flow", "flow style", "Duplicate key")

# folder in fixtures/wild -> (who refuses, agentbook's rule): the README lists each with the spec's rule.
WILD_DIFFERENCES = {
    "chro-advisor": ("agentbook", "metadata-value"),  # `updated: 2026-03-05` is a date, not a string
    "bgpt-paper-search": ("skills-ref", "yaml-flow"),  # `metadata: {"version": "1.1", ...}`: flow style
    # `---` inside the description: skills-ref's front-matter ends there, agentbook reads on to the closing
    # line and finds an unquoted ': ' (not YAML) and keys the spec does not have
    "md-slides": ("agentbook", "yaml-colon"),
}


def _verdicts(folder: Path) -> tuple[list[str], list[str], list[str]]:
    """skills-ref's messages, agentbook's error rules, agentbook's warning rules."""
    theirs = [str(m) for m in skills_ref.validate(folder)]
    found = validate_paths([folder], "spec")
    return theirs, [f.rule for f in found if f.is_error], [f.rule for f in found if not f.is_error]


@pytest.mark.parametrize("folder", sorted(p.name for p in WILD.iterdir() if p.is_dir()))
def test_real_skill_gets_the_reference_verdict_or_a_listed_difference(folder: str) -> None:
    theirs, errors, warnings = _verdicts(WILD / folder)
    if folder not in WILD_DIFFERENCES:
        assert bool(theirs) == bool(errors), f"skills-ref: {theirs}; agentbook: {errors}"
        return
    who, rule = WILD_DIFFERENCES[folder]
    if who == "agentbook":
        assert errors == [rule] and not theirs, f"skills-ref: {theirs}; agentbook: {errors}"
    else:
        assert theirs and not errors and rule in warnings, f"skills-ref: {theirs}; agentbook: {errors} {warnings}"
        assert any(mark in theirs[0] for mark in STRICTYAML)


def test_a_public_skill_with_crlf_line_endings_is_only_a_warning() -> None:
    """The spec has no rule about line endings; a public skill failed agentbook for it alone."""
    assert (WILD / "resume-tailoring" / "SKILL.md").read_bytes().count(b"\r\n") > 10
    assert _verdicts(WILD / "resume-tailoring") == ([], [], ["crlf"])


def test_every_sample_has_provenance_and_every_difference_is_in_the_readme() -> None:
    provenance = (WILD / "PROVENANCE.md").read_text()
    for folder in (p.name for p in WILD.iterdir() if p.is_dir()):
        assert f"| {folder} |" in provenance, f"{folder} has no line in PROVENANCE.md"
    section = (REPO_ROOT / "README.md").read_text().split("## Catalog and skills-ref", 1)
    assert len(section) == 2, "README has no 'Catalog and skills-ref' section"
    for folder in WILD_DIFFERENCES:
        assert f"`{folder}`" in section[1].split("\n## ", 1)[0], f"README does not list {folder}"


# -- the fetched collections, where present ----------------------------------------------------------

def _bench() -> ModuleType:
    return load_module(REPO_ROOT / "bench" / "bench_catalog_fidelity.py", "bench_catalog_fidelity")


def _explained(theirs: list[str], ours: list[str], warned: list[str]) -> bool:
    if ours and not theirs:
        rules = {o.split(":")[0] for o in ours}
        # skills-ref ends the front-matter at the first '---' even inside a value, and never reads the
        # YAML after it; agentbook reads to the closing line and finds it is not YAML
        split = "frontmatter-dashes" in warned and rules <= {"yaml-colon", "yaml-syntax"}
        return rules <= STRING_RULES or split
    return bool(theirs) and not ours and any(mark in theirs[0] for mark in STRICTYAML)


@pytest.mark.skipif(not (MIRRORS / "agentskills+agentskills" / "repo").is_dir(),
                    reason="no clone of agentskills/agentskills at $AGENTBOOK_SKILL_MIRRORS (CI has no network)")
def test_skills_ref_own_test_suite() -> None:
    corpus = _bench().reference_corpus(MIRRORS, skills_ref.validate)
    assert len(corpus.verdicts) >= 15
    assert [v.where for v in corpus.verdicts if not v.agree] == []


@pytest.mark.skipif(not any((MIRRORS / name / "repo").is_dir() for name in ("anthropics+skills", "openai+skills")),
                    reason="no skill collections at $AGENTBOOK_SKILL_MIRRORS (CI has no network)")
def test_public_collections_agree_except_where_the_spec_says_otherwise() -> None:
    bench = _bench()
    corpora = bench.collection_corpora(MIRRORS, 60, skills_ref.validate)
    verdicts = [v for c in corpora for v in c.verdicts]
    assert len(verdicts) >= 20
    unexplained = [f"{v.where}: skills-ref {v.theirs[:1]}, agentbook {v.ours[:1]}"
                   for v in verdicts if not v.agree and not _explained(v.theirs, v.ours, v.warned)]
    assert not unexplained, "\n".join(unexplained)
