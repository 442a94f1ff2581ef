"""Attribute-map helpers: OTLP typed values, nested maps, and flattened `prefix.N.field` lists."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from .values import as_dict, as_list, maybe_json


def otlp_value(value: Any) -> Any:
    """An OTLP AnyValue (`{"stringValue": ...}` etc.) as a plain Python value."""
    if not isinstance(value, dict):
        return value
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        try:
            return int(value["intValue"])
        except (TypeError, ValueError):
            return value["intValue"]
    if "doubleValue" in value:
        return value["doubleValue"]
    if "boolValue" in value:
        return value["boolValue"]
    if "arrayValue" in value:
        return [otlp_value(v) for v in as_list(as_dict(value["arrayValue"]).get("values"))]
    if "kvlistValue" in value:
        return otlp_attributes(as_list(as_dict(value["kvlistValue"]).get("values")))
    if "bytesValue" in value:
        return binary_note(value["bytesValue"])
    return None if not value else value


def binary_note(data: Any) -> str:
    """Binary payloads are described, with the base64 text kept after the description (span.yaml shows
    its start; span.json has it whole), so it is never dropped."""
    try:
        size = len(base64.b64decode(str(data), validate=False))
    except (binascii.Error, ValueError):
        size = len(str(data))
    return f"[binary: {size} bytes, base64] {data}"


def otlp_attributes(items: Any) -> dict[str, Any]:
    """OTLP's `[{"key": k, "value": AnyValue}]` list, or an already plain map, as a flat dict."""
    if isinstance(items, dict):
        return flatten(items)
    out: dict[str, Any] = {}
    for item in as_list(items):
        if isinstance(item, dict) and "key" in item:
            value = item.get("value")
            if type(value) is dict and "stringValue" in value:  # most attributes: no call needed
                out[str(item["key"])] = value["stringValue"]
            else:
                out[str(item["key"])] = otlp_value(value)
    return out


def flatten(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested maps (Phoenix writes `{"llm": {"model_name": ...}}`) as dotted keys; lists stay values."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def pop_indexed(attrs: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """Remove and return `prefix.N.rest` keys as a list (by N) of `{rest: value}` maps.

    Also accepts `prefix` holding a list of (possibly nested) maps, as Phoenix JSON does, or that list
    as a JSON string. A value under `prefix` that is neither stays in `attrs`, untouched: the callers
    read message lists, and what is not one must still reach the export.
    """
    listed = maybe_json(attrs.get(prefix))
    if isinstance(listed, list):
        del attrs[prefix]
        return [flatten(item) if isinstance(item, dict) else {"": item} for item in listed]
    head = prefix + "."
    groups: dict[int, dict[str, Any]] = {}
    for key in [k for k in attrs if k.startswith(head)]:
        index, _, rest = key[len(head):].partition(".")
        if not index.isdigit():
            continue
        groups.setdefault(int(index), {})[rest] = attrs.pop(key)
    return [groups[i] for i in sorted(groups)]


def pop_first(attrs: dict[str, Any], *keys: str) -> Any:
    """Pop every key given and return the first non-empty value (aliases of one field)."""
    found = None
    for key in keys:
        value = attrs.pop(key, None)
        if found is None and value not in (None, ""):
            found = value
    return found
