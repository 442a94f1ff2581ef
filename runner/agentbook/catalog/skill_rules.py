"""The strict rules for one SKILL.md front-matter, per profile. Each rule returns findings with the
line and column of the key or value it is about, and says how to fix it."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from agentbook.catalog.findings import Finding
from agentbook.catalog.frontmatter import FrontMatter, type_name
from agentbook.catalog.profiles import Profile

MAX_NAME = 64
MAX_DESCRIPTION = 1024
MAX_COMPATIBILITY = 500
_ASCII_NAME = re.compile(r"^[a-z0-9-]+$")
_XML_TAG = re.compile(r"</?[A-Za-z][\w.:-]*(\s[^<>]*)?/?>")


def check_front_matter(fm: FrontMatter, folder: str, profile: Profile) -> list[Finding]:
    out: list[Finding] = []
    out += _unknown_keys(fm, profile)
    out += _check_name(fm, folder, profile)
    out += _check_description(fm, profile)
    out += _optional_string(fm, "license")
    out += _optional_string(fm, "compatibility", MAX_COMPATIBILITY)
    out += _check_metadata(fm)
    out += _check_allowed_tools(fm, profile)
    if not profile.tools_list:
        out += _flow_mappings(fm)
    if profile.typed_keys:
        out += _check_claude_code_keys(fm)
    return out


def _unknown_keys(fm: FrontMatter, profile: Profile) -> list[Finding]:
    allowed = ", ".join(profile.keys) if len(profile.keys) <= 6 else ", ".join(profile.keys[:6]) + ", ..."
    other = "; `--profile claude-code` accepts Claude Code's keys" if profile.name == "spec" else ""
    return [fm.finding("unknown-key", f"unknown key '{key}' (the {profile.name} profile allows: {allowed})",
                       f"remove it or move it under 'metadata'{other}", at=(key,), key=True)
            for key in fm.data if key not in profile.keys]


def _flow_mappings(fm: FrontMatter) -> list[Finding]:
    """`metadata: {"version": "1.0"}` is YAML and valid to the spec, but skills-ref, the spec's reference
    validator, reads front-matter with strictyaml, which refuses flow style: a warning, so a skill that
    passes here does not fail there unannounced."""
    return [fm.finding("yaml-flow", f"'{key}' is written in YAML flow style ({{...}}); the reference validator "
                       "(skills-ref, strict YAML) refuses flow style", "write it in block style: one 'key: value' "
                       "per line, indented under the key", at=(key,), severity="warning")
            for key, value in fm.data.items() if isinstance(value, dict) and fm.raw_value(key).startswith("{")]


def _string_or_finding(fm: FrontMatter, key: str) -> str | Finding | None:
    """The value of `key` if it is a non-empty string; a finding if it is not; None if absent."""
    if key not in fm.data:
        return None
    value = fm.data[key]
    if isinstance(value, str):
        if not value.strip():
            return fm.finding(f"{key}-empty", f"'{key}' is empty", f"write a {key}", at=(key,), key=True)
        return value
    raw = fm.raw_value(key)
    if isinstance(value, list):
        hint = f'a bare [..] is a YAML list; quote it: {key}: "{raw}"'
    elif raw and not isinstance(value, dict):
        hint = f'quote it: {key}: "{raw}"'  # yes, 1.0, 2024-01-01: YAML reads these as other types
    else:
        hint = f"write {key} as text"
    return fm.finding(f"{key}-type", f"'{key}' must be a string, got {type_name(value)}", hint, at=(key,))


def _check_name(fm: FrontMatter, folder: str, profile: Profile) -> list[Finding]:
    got = _string_or_finding(fm, "name")
    if got is None:
        if not profile.name_required:
            return []
        return [fm.finding("name-missing", "missing required key 'name'", f"add 'name: {_suggest(folder)}'")]
    if isinstance(got, Finding):
        return [got]
    name = unicodedata.normalize("NFKC", got.strip())
    out: list[Finding] = []

    def bad(rule: str, message: str, hint: str) -> None:
        out.append(fm.finding(rule, message, hint, at=("name",)))

    if len(name) > MAX_NAME:
        bad("name-length", f"name is {len(name)} characters; the limit is {MAX_NAME}", "shorten it")
    good = _suggest(name)  # one suggestion, valid by every rule, in every hint
    fixed = f"use '{good}'" + (f" and rename the folder to '{good}'" if good != name and name == folder else "")
    if name != name.lower():
        bad("name-case", f"name '{name}' must be lowercase", fixed)
    if name.startswith("-") or name.endswith("-"):
        bad("name-hyphen", f"name '{name}' must not start or end with a hyphen", fixed)
    if "--" in name:
        bad("name-double-hyphen", f"name '{name}' must not contain '--'", fixed)
    invalid = sorted({c for c in name if not (c.isalnum() or c == "-")})
    if invalid:
        shown = " ".join(repr(c) for c in invalid)
        bad("name-chars", f"name '{name}' contains {shown}; only lowercase letters, digits and hyphens are allowed",
            fixed)
    if profile.ascii_names and not invalid and not _ASCII_NAME.match(name.lower()):
        bad("name-ascii", f"name '{name}' must use only a-z, 0-9 and '-' for the {profile.name} profile",
            "transliterate it to ASCII")
    for word in profile.reserved_words:
        if word in name.lower():
            bad("name-reserved", f"name '{name}' contains the reserved word '{word}'", f"remove '{word}' from the name")
    if profile.no_xml and _XML_TAG.search(name):
        bad("xml-tag", "name contains an XML tag", "remove the '<...>' tag")
    if name != unicodedata.normalize("NFKC", folder):
        good = _suggest(name)
        hint = f"rename the folder to '{good}'" + (f" or set 'name: {folder}'" if _suggest(folder) == folder else "")
        if good != name:
            hint += f" (and set 'name: {good}')"
        bad("name-folder", f"name '{name}' differs from its folder '{folder}'", hint)
    return out


def _check_description(fm: FrontMatter, profile: Profile) -> list[Finding]:
    got = _string_or_finding(fm, "description")
    if got is None:
        return [fm.finding("description-missing", "missing required key 'description'",
                           "add 'description:' saying what the skill does and when to use it")]
    if isinstance(got, Finding):
        return [got]
    out: list[Finding] = []
    if len(got) > MAX_DESCRIPTION:
        out.append(fm.finding("description-length",
                              f"description is {len(got)} characters; the limit is {MAX_DESCRIPTION}",
                              "shorten it; move detail into the body of SKILL.md", at=("description",)))
    tag = _XML_TAG.search(got) if profile.no_xml else None
    if tag:
        out.append(fm.finding("xml-tag", f"description contains an XML tag ({tag.group(0)})",
                              "remove the tag or write it without angle brackets", at=("description",)))
    return out


def _optional_string(fm: FrontMatter, key: str, limit: int | None = None) -> list[Finding]:
    got = _string_or_finding(fm, key)
    if isinstance(got, Finding):
        return [got]
    if got is not None and limit is not None and len(got) > limit:
        return [fm.finding(f"{key}-length", f"{key} is {len(got)} characters; the limit is {limit}", "shorten it",
                           at=(key,))]
    return []


def _check_metadata(fm: FrontMatter) -> list[Finding]:
    if "metadata" not in fm.data:
        return []
    meta: Any = fm.data["metadata"]
    if not isinstance(meta, dict):
        return [fm.finding("metadata-type", f"'metadata' must be a mapping of strings, got {type_name(meta)}",
                           "write 'metadata:' then indented 'key: \"value\"' lines", at=("metadata",))]
    out: list[Finding] = []
    for key, value in meta.items():
        if not isinstance(value, str):
            raw = fm.raw_value("metadata", str(key))
            hint = f'quote it: {key}: "{raw}"' if not isinstance(value, (dict, list)) else \
                f"make '{key}' one string, or give each entry its own key under metadata"
            out.append(fm.finding("metadata-value", f"metadata value '{key}' must be a string, got {type_name(value)}",
                                  hint, at=("metadata", str(key)), key=True))
    return out


def _check_allowed_tools(fm: FrontMatter, profile: Profile) -> list[Finding]:
    if "allowed-tools" not in fm.data:
        return []
    value = fm.data["allowed-tools"]
    if isinstance(value, str):
        return []
    if isinstance(value, list) and not profile.tools_list:
        words = " ".join(str(v) for v in value)
        return [fm.finding("allowed-tools-type", "'allowed-tools' must be a space-separated string in the "
                           f"{profile.name} profile, got a list",
                           f"write 'allowed-tools: {words}' (`--profile claude-code` accepts a list)",
                           at=("allowed-tools",))]
    if isinstance(value, list):
        return [fm.finding("allowed-tools-type", f"allowed-tools item {i + 1} must be a string, got {type_name(item)}",
                           f'quote it: "{fm.raw_value("allowed-tools", i)}"', at=("allowed-tools", i))
                for i, item in enumerate(value) if not isinstance(item, str)]
    return [fm.finding("allowed-tools-type", f"'allowed-tools' must be a string or a list of strings, "
                       f"got {type_name(value)}", "write 'allowed-tools: Read Grep' or a list", at=("allowed-tools",))]


# Claude Code's own keys and the types it reads them as (value check: None = any value of the type).
_CLAUDE_CODE_TYPES: dict[str, tuple[tuple[type, ...], str, tuple[str, ...] | None]] = {
    "disable-model-invocation": ((bool,), "true or false", None),
    "user-invocable": ((bool,), "true or false", None),
    "context": ((str,), "'fork'", ("fork", "inherit")),
    "model": ((str,), "a model name or alias such as sonnet", None),
    "effort": ((str,), "a string", None),
    "agent": ((str,), "an agent name", None),
    "argument-hint": ((str,), "a string", None),
    "when_to_use": ((str,), "a string", None),
    "version": ((str,), "a string (quote numbers)", None),
    "shell": ((str,), "a string", None),
    "paths": ((str, list), "a string or a list of globs", None),
    "hooks": ((dict,), "a mapping", None),
}


def _check_claude_code_keys(fm: FrontMatter) -> list[Finding]:
    out: list[Finding] = []
    for key, (types, want, choices) in _CLAUDE_CODE_TYPES.items():
        if key not in fm.data:
            continue
        value = fm.data[key]
        ok = isinstance(value, types) and not (bool not in types and isinstance(value, bool))
        if ok and choices is not None and value not in choices:
            ok = False
        if not ok:
            raw = fm.raw_value(key)
            hint = f"use {want}" + (f" (one of: {', '.join(choices)})" if choices else "")
            if bool in types and isinstance(value, str):
                hint = f"write {key}: true or {key}: false, unquoted"
            out.append(fm.finding(f"{key}-type", f"'{key}' must be {want}, got {raw or type_name(value)}", hint,
                                  at=(key,)))
    return out


def _suggest(text: str) -> str:
    """A spec-valid name close to `text` for hints."""
    cleaned = re.sub(r"[^\w-]+|_", "-", unicodedata.normalize("NFKC", text).lower())
    return re.sub("-+", "-", cleaned).strip("-") or "my-skill"
