"""Front-matter shapes found in anthropics/skills, rewritten in our own words: all must pass under
the spec profile except the two that are wrong upstream too (a description over 1024 characters,
and a template whose name differs from its folder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentbook.catalog.validate import validate_paths

LONG_BLOCK = "\n".join(
    ["description: |-",
     "  Reference for an HTTP API and its SDKs — model ids, pricing, params, streaming, tool use, caching.",
     "  TRIGGER — read BEFORE editing; whenever: the prompt names the vendor in any form (`vendor`, `@vendor/sdk`,",
     "  `vendor-*`, `[1m]`); the user asks about limits or caching — never answer from memory; OR the task is",
     "  shaped like {agent, tool-definition, judge} with the provider unstated."]
    + [f"  SKIP rule {i}: another provider is named in the query, or `grep -rE '\\b(other|sdk)\\b'` hits." for i in range(8)])

SHAPES = {
    # plain long description with slashes, periods and a licence sentence
    "pdf": "name: pdf\ndescription: Use this skill whenever the user wants to do anything with PDF files. This "
           "includes reading or extracting text/tables, merging, splitting, rotating pages, filling forms and OCR "
           "on scanned PDFs. If the user mentions a .pdf file, use this skill.\n"
           "license: Proprietary. LICENSE.txt has complete terms\n",
    # double-quoted description holding ': ' and single quotes
    "docx": 'name: docx\ndescription: "Use this skill for Word documents (.docx files). Triggers include: any '
            "mention of 'Word doc', '.docx', or requests for a 'report' or 'memo'. Do NOT use for PDFs.\"\n"
            "license: Proprietary. LICENSE.txt has complete terms\n",
    # apostrophes in a plain scalar
    "skill-creator": "name: skill-creator\ndescription: Guide for creating effective skills that extend Claude's "
                     "capabilities with knowledge, workflows, or tool integrations.\n"
                     "license: Complete terms in LICENSE.txt\n",
    # folded block scalar
    "webapp-testing": "name: webapp-testing\ndescription: >-\n  Test local web applications with Playwright:\n"
                      "  user flows, screenshots and console logs.\n",
    # metadata string map
    "brand-guidelines": "name: brand-guidelines\ndescription: Apply a brand's colours and type to artifacts.\n"
                        "metadata:\n  author: someone\n  version: '1.0'\n",
    # literal block over 1024 characters: the one real failure
    "claude-api": "name: claude-api\n" + LONG_BLOCK + "\nlicense: Complete terms in LICENSE.txt\n",
}


def _write(base: Path, folder: str, front: str) -> Path:
    skill = base / folder
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text(f"---\n{front}---\n\n# {folder}\n\nInstructions.\n")
    return skill


@pytest.mark.parametrize("folder", [f for f in SHAPES if f != "claude-api"])
def test_shapes_that_pass(tmp_path: Path, folder: str) -> None:
    assert validate_paths([_write(tmp_path, folder, SHAPES[folder])]) == []


def test_description_over_1024_in_a_block_scalar(tmp_path: Path) -> None:
    skill = _write(tmp_path, "claude-api", SHAPES["claude-api"])
    (finding,) = validate_paths([skill])
    assert (finding.line, finding.col, finding.rule) == (3, 14, "description-length")
    assert finding.message.startswith("description is ") and finding.message.endswith("the limit is 1024")


def test_template_with_comment_and_other_folder(tmp_path: Path) -> None:
    front = ("name: template-skill # Must be lowercase, numbers, and hyphens only\n"
             "description: Replace with a description of the skill and when to use it.\n")
    findings = validate_paths([_write(tmp_path, "template", front)])
    assert [(f.line, f.rule, f.message) for f in findings if f.is_error] == [
        (2, "name-folder", "name 'template-skill' differs from its folder 'template'")]
    assert [(f.rule, f.severity) for f in findings if not f.is_error] == [("yaml-comment", "warning")]


def test_anthropic_profile_rejects_the_reserved_word_in_claude_api(tmp_path: Path) -> None:
    skill = _write(tmp_path, "claude-api", SHAPES["claude-api"])
    rules = [f.rule for f in validate_paths([skill], "anthropic")]
    assert rules == ["name-reserved", "description-length"]
