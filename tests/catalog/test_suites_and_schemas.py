"""Eval suites are found by place and shape and handed to the eval-suite validator; the skill JSON
Schema agrees with the validator on the spec's core rules."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from agentbook.catalog import validate_paths
from agentbook.catalog.discover import discover
from agentbook.catalog.validate import validate

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_suites_are_detected_by_name_and_shape(tmp_path: Path) -> None:
    (tmp_path / "evals" / "a").mkdir(parents=True)
    (tmp_path / "evals" / "a" / "suite.yaml").write_text("description: x\n")
    (tmp_path / "evals" / "b.yaml").write_text("description: y\nprompts: [file://p.txt]\ntests: []\n")
    (tmp_path / "evals" / "sut.script.yaml").write_text("tests: []\n")  # a stand-in script, not a suite
    (tmp_path / "evals" / "config.yaml").write_text("model: x\n")
    (tmp_path / "evals" / "a" / "cases").mkdir()
    (tmp_path / "evals" / "a" / "cases" / "c1.yaml").write_text("tests: []\n")  # part of suite a
    targets, findings = discover(tmp_path / "evals")
    assert findings == []
    assert sorted((t.kind, t.path.relative_to(tmp_path).as_posix()) for t in targets) == [
        ("suite", "evals/a/suite.yaml"), ("suite", "evals/b.yaml")]


def test_broken_suite_reaches_the_eval_validator(tmp_path: Path) -> None:
    pytest.importorskip("agentbook.evals.validate")
    suite = tmp_path / "evals" / "suite.yaml"
    suite.parent.mkdir()
    suite.write_text("description: broken\ntests: [\n")
    report = validate([tmp_path / "evals"])
    assert report.checked["suite"] == 1 and report.suites_skipped == 0
    assert report.findings and all(f.path == str(suite) for f in report.findings)
    assert report.errors >= 1


SPEC_VALID = [
    {"name": "my-skill", "description": "A test skill"},
    {"name": "my-skill", "description": "d", "license": "MIT", "compatibility": "Python 3.11+",
     "metadata": {"author": "me"}, "allowed-tools": "Read Bash"},
    {"name": "мой-навык", "description": "d"},
]
SPEC_INVALID = [
    ({"name": "my-skill"}, "description-missing"),
    ({"name": "MySkill", "description": "d"}, "name-case"),
    ({"name": "my--skill", "description": "d"}, "name-double-hyphen"),
    ({"name": "-my-skill", "description": "d"}, "name-hyphen"),
    ({"name": "my_skill", "description": "d"}, "name-chars"),
    ({"name": "my-skill", "description": "x" * 1025}, "description-length"),
    ({"name": "my-skill", "description": "d", "metadata": {"v": 1.0}}, "metadata-value"),
    ({"name": "my-skill", "description": "d", "allowed-tools": 123}, "allowed-tools-type"),
    ({"name": "my-skill", "description": "d", "extra": "x"}, "unknown-key"),
]


@pytest.mark.parametrize("front", SPEC_VALID, ids=lambda f: f["name"])
def test_skill_schema_and_validator_accept(tmp_path: Path, front: dict[str, object]) -> None:
    schema = json.loads((REPO_ROOT / "schemas" / "skill.schema.json").read_text())
    jsonschema.validate(front, schema)
    folder = tmp_path / str(front["name"])
    folder.mkdir()
    (folder / "SKILL.md").write_text("---\n" + yaml.safe_dump(front, allow_unicode=True) + "---\n# x\n")
    assert validate_paths([folder]) == []


@pytest.mark.parametrize("front,rule", SPEC_INVALID, ids=lambda v: v if isinstance(v, str) else "")
def test_skill_schema_and_validator_reject(tmp_path: Path, front: dict[str, object], rule: str) -> None:
    schema = json.loads((REPO_ROOT / "schemas" / "skill.schema.json").read_text())
    assert not jsonschema.Draft202012Validator(schema).is_valid(front)
    folder = tmp_path / str(front["name"])
    folder.mkdir()
    (folder / "SKILL.md").write_text("---\n" + yaml.safe_dump(front) + "---\n# x\n")
    assert rule in [f.rule for f in validate_paths([folder])]
