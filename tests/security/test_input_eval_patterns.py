"""A suite's JSON schema names property patterns that backtrack without end, where jsonschema itself
would match them with Python's `re` (which holds the GIL and cannot be stopped): `additionalProperties`
and `unevaluatedProperties` beside `patternProperties`. The in-process `eval` tool grades with these
schemas on the runner's loop, so a hang there froze every session. Each is an error of the assertion
at the deadline, never a hang; ordinary schemas still mean what JSON Schema says."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from agentbook.evals.graders import PATTERN_SECONDS, grade

HOSTILE = "(a|aa)+$"  # backtracks 2^n ways on n a's and a character it cannot end with
NAME = "a" * 40 + "!"  # a property name written for the pattern


DRAFT7 = "http://json-schema.org/draft-07/schema#"


@pytest.mark.timeout(60)  # without the deadline, re ran each of these for hours holding the GIL
@pytest.mark.parametrize("schema", [
    {"additionalProperties": False, "patternProperties": {HOSTILE: {}}},
    {"additionalProperties": {"type": "integer"}, "patternProperties": {"^x$": {}, HOSTILE: {}}},
], ids=["additional-false", "additional-schema"])
def test_a_property_name_pattern_that_backtracks_is_an_error_at_its_deadline(schema: dict[str, Any]) -> None:
    result = asyncio.run(grade({"type": "is-json", "value": schema}, json.dumps({NAME: 1}), None))
    assert result.error and not result.passed, result.reason
    assert f"/{HOSTILE}/ ran over {PATTERN_SECONDS:g} s" in result.reason


@pytest.mark.timeout(60)
@pytest.mark.parametrize("schema,refusal", [
    ({"unevaluatedProperties": False, "patternProperties": {HOSTILE: {}}}, "unevaluatedProperties and"),
    ({"unevaluatedProperties": False, "allOf": [{"patternProperties": {HOSTILE: {}}}]}, "unevaluatedProperties and"),
    ({"properties": {"o": {"unevaluatedProperties": False, "$ref": "#/$defs/p"}},
      "$defs": {"p": {"patternProperties": {HOSTILE: {}}}}}, "unevaluatedProperties and"),
    # jsonschema validates a part that names another draft with its stock validator for it (on `re`)
    ({"properties": {"x": {"$schema": DRAFT7, "pattern": HOSTILE}}}, "$schema"),
    ({"properties": {"o": {"$schema": DRAFT7, "patternProperties": {HOSTILE: {}}}}}, "$schema"),
    ({"$schema": DRAFT7, "properties": {"x": {"pattern": HOSTILE}, "o": {"$ref": "#"}}}, "$schema"),
], ids=["unevaluated", "unevaluated-allof", "unevaluated-ref", "draft7-pattern", "draft7-patternproperties",
        "draft7-top-ref"])
def test_a_schema_jsonschema_would_match_with_re_is_refused(schema: dict[str, Any], refusal: str) -> None:
    answer = json.dumps({NAME: 1, "x": NAME, "o": {NAME: 1, "x": NAME}})
    result = asyncio.run(grade({"type": "is-json", "value": schema}, answer, None))
    assert result.error and not result.passed, result.reason
    assert result.reason.startswith("bad assertion value: ") and refusal in result.reason


@pytest.mark.parametrize("schema,answer,passed", [
    ({"additionalProperties": False, "patternProperties": {"^n_": {}}}, '{"n_a": 1}', True),
    ({"additionalProperties": False, "patternProperties": {"^n_": {}}}, '{"n_a": 1, "s": 2}', False),
    ({"additionalProperties": False, "properties": {"s": {}}, "patternProperties": {"^n_": {}}},
     '{"n_a": 1, "s": 2}', True),
    ({"additionalProperties": {"type": "string"}, "patternProperties": {"^n_": {"type": "integer"}}},
     '{"n_a": 1, "s": "x"}', True),
    ({"additionalProperties": {"type": "string"}, "patternProperties": {"^n_": {"type": "integer"}}},
     '{"n_a": 1, "s": 2}', False),
    ({"additionalProperties": False, "patternProperties": {"a|b": {}, "^c": {}}}, '{"xb": 1, "cz": 2}', True),
    ({"additionalProperties": False}, '{"s": 1}', False),
    ({"unevaluatedProperties": False, "properties": {"s": {}}}, '{"s": 1}', True),
    ({"unevaluatedProperties": False, "properties": {"s": {}}}, '{"s": 1, "t": 2}', False),
    ({"$schema": "https://json-schema.org/draft/2020-12/schema", "properties": {"x": {"pattern": "^a+$"}}},
     '{"x": "aab"}', False),
])
def test_property_patterns_still_mean_what_json_schema_says(schema: dict[str, Any], answer: str,
                                                            passed: bool) -> None:
    result = asyncio.run(grade({"type": "is-json", "value": schema}, answer, None))
    assert (result.passed, result.error) == (passed, False), result.reason


@pytest.mark.parametrize("schema,reason", [
    ({"$ref": "#"}, "the schema's $ref leads back to itself without end"),
    ({"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}, "the schema's $ref leads back to itself"),
    ({"$ref": "#/nope"}, "the schema's $ref leads nowhere"),
    ({"$ref": "https://example.com/s.json"}, "the schema's $ref leads nowhere"),  # and is never fetched
    ({"patternProperties": 5}, "5 is not of type 'object'"),
    ({"type": "nosuch"}, "'nosuch' is not valid under any of the given schemas"),
])
def test_a_misshapen_schema_is_an_error_of_the_assertion_not_a_crash(schema: dict[str, Any], reason: str) -> None:
    """These raised RecursionError, AttributeError or jsonschema's own errors out of the grader:
    `eval run` printed a traceback and exited 70."""
    result = asyncio.run(grade({"type": "is-json", "value": schema}, '{"a": 1}', None))
    assert result.error and not result.passed
    assert result.reason.startswith(f"bad assertion value: {reason}"), result.reason
