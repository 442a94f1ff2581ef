"""The suite schema (`schemas/eval-suite.schema.json`) and the checks that use it."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from agentbook.shipped import load_schema

if TYPE_CHECKING:
    import jsonschema


def suite_schema() -> dict[str, Any]:
    return load_schema("eval-suite")


@lru_cache(maxsize=4)
def _validator(ref: str) -> jsonschema.protocols.Validator:
    import jsonschema  # imported on first use: `eval show` and `eval list` never need it

    schema = suite_schema()
    target = schema if not ref else {"$ref": f"#/$defs/{ref}", "$defs": schema["$defs"]}
    cls = jsonschema.validators.validator_for(schema)
    validator: jsonschema.protocols.Validator = cls(target)
    return validator


def case_problems(value: Any) -> list[str]:
    """Schema problems of one case, each as `path: message`, plus the repeat-policy rule."""
    problems = [_render(err) for err in _validator("case").iter_errors(value)]
    if isinstance(value, dict) and isinstance(value.get("min_pass"), int):
        repeat = value.get("repeat", 1)
        if isinstance(repeat, int) and value["min_pass"] > repeat:
            problems.append(f"min_pass: {value['min_pass']} is more than repeat ({repeat})")
    return problems


def suite_problems(config: dict[str, Any]) -> list[str]:
    """Problems of the suite without its cases (they are checked one by one with `case_problems`)."""
    head = {k: v for k, v in config.items() if k != "tests"}
    return [_render(err) for err in _validator("").iter_errors(head)]


def _render(err: jsonschema.ValidationError) -> str:
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path).lstrip(".")
    message = err.message
    if err.validator == "unevaluatedProperties":
        message = message.replace("Unevaluated properties are not allowed", "unknown field(s)")
    return f"{path or '(case)'}: {message}"
