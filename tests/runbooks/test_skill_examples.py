"""Examples inside the workflow skills are real: the analysis JSON validates against the schema the
pipeline uses, and the fix-ticket template is a ticket the fix-prompt runbook accepts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
from tests.conftest import REPO_ROOT

from agentbook.runbooks.tickets import parse_ticket

REFS = REPO_ROOT / "skills" / "backtest-analysis" / "references"


def _fenced(path: Path, lang: str) -> str:
    found = re.search(rf"```{lang}\n(.*?)```", path.read_text(), re.DOTALL)
    assert found, f"no ```{lang} block in {path}"
    return found.group(1)


def test_analysis_example_validates_against_the_schema() -> None:
    schema = json.loads((REPO_ROOT / "schemas" / "analysis.schema.json").read_text())
    example = json.loads(_fenced(REFS / "analysis-fields.md", "json"))
    jsonschema.validate(example, schema)
    assert example["first_wrong_step"]["span_path"].endswith("003-llm-chat-logql")


def test_the_field_table_names_every_field_an_analyst_writes() -> None:
    """Dogfood wrote analyses by the table, which lacked `proposed_change`: `backtest fixes` then wrote no
    ticket for any cohort ("the analysts proposed no change"). The pipeline adds id, account and meta."""
    schema = json.loads((REPO_ROOT / "schemas" / "analysis.schema.json").read_text())
    table = set(re.findall(r"^\| `([a-z_]+)` \|", (REFS / "analysis-fields.md").read_text(), re.MULTILINE))
    assert table == set(schema["properties"]) - {"id", "account", "meta"}
    example = json.loads(_fenced(REFS / "analysis-fields.md", "json"))
    assert set(example) == table


def test_fix_ticket_template_names_fix_prompt_inputs() -> None:
    ticket = parse_ticket(_fenced(REFS / "fix-ticket.md", "markdown"), "fix-ticket.md")
    front = (REPO_ROOT / "runbooks" / "fix-prompt.md").read_text().split("---")[1]
    declared = set(re.findall(r"^  ([a-z_]+):", front, re.MULTILINE))
    assert ticket.runbook == "fix-prompt"
    assert set(ticket.inputs) <= declared
    assert {"prompt", "suite", "case", "behaviour", "eval_model"} <= set(ticket.inputs)
