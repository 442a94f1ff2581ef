"""Validation profiles for SKILL.md front-matter: which keys are allowed and which extra name rules apply.

- `spec`: the Agent Skills specification exactly (agentskills.io), six keys.
- `claude-code`: also the keys Claude Code reads from a skill.
- `anthropic`: the spec plus the rules for uploading a skill to the Anthropic API.
"""

from __future__ import annotations

from dataclasses import dataclass

SPEC_KEYS = ("name", "description", "license", "compatibility", "metadata", "allowed-tools")
CLAUDE_CODE_KEYS = ("when_to_use", "argument-hint", "arguments", "disable-model-invocation", "user-invocable",
                    "model", "effort", "context", "agent", "hooks", "paths", "shell", "version")


@dataclass(frozen=True)
class Profile:
    name: str
    keys: tuple[str, ...]
    ascii_names: bool = False  # names limited to a-z0-9- (no other scripts)
    no_xml: bool = False  # no XML tags in name or description
    reserved_words: tuple[str, ...] = ()  # words a name may not contain
    tools_list: bool = False  # allowed-tools may be a YAML list (Claude Code); the spec says a string
    name_required: bool = True  # Claude Code names a skill after its folder when `name` is missing
    typed_keys: bool = False  # check the types of Claude Code's own keys


PROFILES: dict[str, Profile] = {
    "spec": Profile("spec", SPEC_KEYS),
    "claude-code": Profile("claude-code", SPEC_KEYS + CLAUDE_CODE_KEYS, tools_list=True, name_required=False,
                           typed_keys=True),
    "anthropic": Profile("anthropic", SPEC_KEYS, ascii_names=True, no_xml=True,
                         reserved_words=("anthropic", "claude")),
}
DEFAULT_PROFILE = "spec"
