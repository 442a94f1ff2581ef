"""agentbook's `--profile spec` agrees with the Agent Skills reference validator (PyPI `skills-ref`,
pinned in the dev extra): on every spec-profile case of the malformed-file table and on the skills
agentbook ships, both accept or both refuse, except the cases listed in DIFFERENCES (and in the
README), where the spec's own words say more than the reference implementation checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import REPO_ROOT

from agentbook.catalog.validate import validate_paths

from .test_skill_table import CASES, VALID, Case, _write

skills_ref = pytest.importorskip("skills_ref", reason="skills-ref is in the dev extra (pip install -e '.[dev]')")

# case id -> why agentbook refuses what skills-ref accepts. skills-ref reads front-matter with strictyaml
# (every scalar is a string); the spec says the values are strings and agents read SKILL.md with
# ordinary YAML loaders, where these are not strings.
DIFFERENCES = {
    "yes-is-a-boolean": "`description: yes` is a boolean to YAML 1.1 loaders; the spec wants a string",
    "date-description": "an unquoted date is a date to YAML loaders; the spec wants a string",
    "name-number": "an unquoted number is a number to YAML loaders; the spec wants a string",
    "compatibility-number": "as name-number, for compatibility",
    "metadata-not-mapping": "the spec: metadata is a map from string keys to string values",
    "metadata-number-value": "the spec: metadata values are strings",
    "nested-metadata-on-the-key-line": "the spec: metadata values are strings, not mappings",
    "allowed-tools-number": "the spec: allowed-tools is a space-delimited string",
}
# case id -> why skills-ref refuses what agentbook accepts (agentbook warns): the spec asks for YAML
# front-matter and flow style is YAML; strictyaml refuses it.
REFERENCE_REFUSES = {
    "metadata-flow-mapping": "flow style (`metadata: {\"version\": \"1.0\"}`) is YAML; strictyaml refuses it",
}
SPEC_CASES = [c for c in CASES + VALID if c.profile == "spec"]


def _verdicts(tmp_path: Path, case: Case) -> tuple[list[str], list[str]]:
    folder = _write(tmp_path, case)
    ours = [f"{f.rule}: {f.message}" for f in validate_paths([folder], "spec") if f.is_error]
    try:
        theirs = list(skills_ref.validate(folder))
    except UnicodeDecodeError as err:  # skills-ref raises on a file that is not UTF-8: a refusal too
        theirs = [f"raised {err}"]
    return theirs, ours


@pytest.mark.parametrize("case", SPEC_CASES, ids=lambda c: c.id)
def test_same_verdict_as_the_reference_validator(tmp_path: Path, case: Case) -> None:
    theirs, ours = _verdicts(tmp_path, case)
    if case.id in DIFFERENCES:
        assert ours and not theirs, f"{case.id} is listed as a difference but both agree now"
        return
    if case.id in REFERENCE_REFUSES:
        assert theirs and not ours, f"{case.id} is listed as a difference but both agree now"
        return
    assert bool(theirs) == bool(ours), f"skills-ref: {theirs}; agentbook: {ours}"


def test_every_difference_is_a_table_case_and_in_the_readme() -> None:
    ids = {c.id for c in SPEC_CASES}
    assert set(DIFFERENCES) | set(REFERENCE_REFUSES) <= ids
    readme = (REPO_ROOT / "README.md").read_text()
    for case_id in [*DIFFERENCES, *REFERENCE_REFUSES]:
        assert f"`{case_id}`" in readme, f"README does not list {case_id}"


@pytest.mark.parametrize("skill", sorted(p.parent.name for p in (REPO_ROOT / "skills").glob("*/SKILL.md")))
def test_shipped_skills_pass_both(skill: str) -> None:
    folder = REPO_ROOT / "skills" / skill
    assert skills_ref.validate(folder) == []
    assert not [f for f in validate_paths([folder], "spec") if f.is_error]
