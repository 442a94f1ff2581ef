"""The malformed-file table: each SKILL.md below is written to a real folder and validated; the test
asserts every finding's line, rule and exact message (and, for the YAML pitfalls, column and hint)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from agentbook.catalog.validate import validate_paths

LONG_DESC = "x" * 1100
LONG_COMPAT = "y" * 550
SPEC_KEYS = "name, description, license, compatibility, metadata, allowed-tools"


@dataclass
class Case:
    id: str
    text: str | bytes  # the whole SKILL.md
    expected: list[tuple[int, str, str]]  # (line, rule, message)
    folder: str = "my-skill"
    profile: str = "spec"
    extra: dict[str, str] = field(default_factory=dict)  # other files in the skill folder


def fm(*lines: str, body: str = "# Body\n") -> str:
    return "---\n" + "".join(line + "\n" for line in lines) + "---\n" + body


OK = ("name: my-skill", "description: A test skill")

CASES = [
    # ---- file shape ------------------------------------------------------------------------------
    Case("no-front-matter", "# No front-matter here\n",
         [(1, "frontmatter-missing", "file must start with YAML front-matter ('---' on line 1)")]),
    Case("unclosed", "---\nname: my-skill\ndescription: A test skill\n",
         [(1, "frontmatter-unclosed", "front-matter is not closed")]),
    Case("invalid-yaml", fm("name: [invalid", "description: broken"),
         [(2, "yaml-syntax", "invalid YAML: '[' is never closed")]),
    Case("not-a-mapping", fm("- just", "- a", "- list"),
         [(2, "frontmatter-not-mapping", "front-matter must be a YAML mapping of keys to values, got a list")]),
    Case("empty-front-matter", fm(),
         [(1, "description-missing", "missing required key 'description'"),
          (1, "name-missing", "missing required key 'name'")]),
    Case("not-utf8", b"---\nname: my-skill\ndescription: caf\xe9\n---\n",
         [(3, "encoding", "file is not valid UTF-8 (byte 0xe9)")]),
    # ---- YAML pitfalls ---------------------------------------------------------------------------
    Case("unquoted-colon", fm("name: my-skill", "description: Use when: the user asks"),
         [(3, "yaml-colon", "unquoted ': ' inside the value of 'description'")]),
    Case("dashes-in-block", fm("name: my-skill", "description: |", "  part one", "  ---", "  part two"),
         [(5, "frontmatter-dashes",
           "'---' inside the front-matter: loaders that split on '---' end the front-matter here")]),
    Case("dashes-inline", fm("name: my-skill", "description: before---after"),
         [(3, "frontmatter-dashes",
           "'---' inside the front-matter: loaders that split on '---' end the front-matter here")]),
    Case("closed-too-early", "---\nname: my-skill\n---\ndescription: A test skill\n---\n# Body\n",
         [(1, "description-missing", "missing required key 'description'"),
          (3, "frontmatter-split", "'---' on line 3 ends the front-matter, but YAML keys continue to line 5")]),
    Case("duplicate-key", fm("name: my-skill", "description: first", "description: second"),
         [(4, "yaml-duplicate-key", "duplicate key 'description' (first on line 3); YAML keeps only the last")]),
    Case("bare-list-description", fm("name: my-skill", "description: [x]"),
         [(3, "description-type", "'description' must be a string, got a list")]),
    Case("crlf", fm(*OK).replace("\n", "\r\n"), [(1, "crlf", "CRLF line endings")]),
    Case("bom", "\ufeff" + fm(*OK), [(1, "bom", "file starts with a UTF-8 byte order mark")]),
    Case("tab-indent", fm(*OK, "metadata:", "\tauthor: me"),
         [(5, "tab", "tab character in YAML indentation")]),
    Case("yes-is-a-boolean", fm("name: my-skill", "description: yes"),
         [(3, "description-type", "'description' must be a string, got a boolean (true)")]),
    Case("comment-in-description", fm("name: my-skill", "description: Use for issue #42"),
         [(3, "yaml-comment", "'#42' is a YAML comment, not part of 'description'")]),
    Case("date-description", fm("name: my-skill", "description: 2024-01-01"),
         [(3, "description-type", "'description' must be a string, got a date (2024-01-01)")]),
    # ---- name ------------------------------------------------------------------------------------
    Case("name-missing", fm("description: A test skill"), [(1, "name-missing", "missing required key 'name'")]),
    Case("name-null", fm("name:", "description: A test skill"),
         [(2, "name-type", "'name' must be a string, got nothing (null)")]),
    Case("name-number", fm("name: 123", "description: A test skill"),
         [(2, "name-type", "'name' must be a string, got a number (123)")], folder="123"),
    Case("name-empty", fm("name: ''", "description: A test skill"), [(2, "name-empty", "'name' is empty")]),
    Case("name-uppercase", fm("name: MySkill", "description: A test skill"),
         [(2, "name-case", "name 'MySkill' must be lowercase")], folder="MySkill"),
    Case("name-too-long", fm("name: " + "a" * 70, "description: A test skill"),
         [(2, "name-length", "name is 70 characters; the limit is 64")], folder="a" * 70),
    Case("name-leading-hyphen", fm("name: -my-skill", "description: A test skill"),
         [(2, "name-hyphen", "name '-my-skill' must not start or end with a hyphen")], folder="-my-skill"),
    Case("name-trailing-hyphen", fm("name: my-skill-", "description: A test skill"),
         [(2, "name-hyphen", "name 'my-skill-' must not start or end with a hyphen")], folder="my-skill-"),
    Case("name-double-hyphen", fm("name: my--skill", "description: A test skill"),
         [(2, "name-double-hyphen", "name 'my--skill' must not contain '--'")], folder="my--skill"),
    Case("name-underscore", fm("name: my_skill", "description: A test skill"),
         [(2, "name-chars", "name 'my_skill' contains '_'; only lowercase letters, digits and hyphens are allowed")],
         folder="my_skill"),
    Case("name-space", fm("name: my skill", "description: A test skill"),
         [(2, "name-chars", "name 'my skill' contains ' '; only lowercase letters, digits and hyphens are allowed")],
         folder="my skill"),
    Case("name-folder-mismatch", fm("name: correct-name", "description: A test skill"),
         [(2, "name-folder", "name 'correct-name' differs from its folder 'wrong-name'")], folder="wrong-name"),
    Case("name-russian-uppercase", fm("name: НАВЫК", "description: A skill"),
         [(2, "name-case", "name 'НАВЫК' must be lowercase")], folder="НАВЫК"),
    # ---- description, compatibility, license, metadata, allowed-tools, keys ------------------------
    Case("description-missing", fm("name: my-skill"),
         [(1, "description-missing", "missing required key 'description'")]),
    Case("description-empty", fm("name: my-skill", 'description: ""'),
         [(3, "description-empty", "'description' is empty")]),
    Case("description-too-long", fm("name: my-skill", "description: " + LONG_DESC),
         [(3, "description-length", "description is 1100 characters; the limit is 1024")]),
    Case("compatibility-too-long", fm(*OK, "compatibility: " + LONG_COMPAT),
         [(4, "compatibility-length", "compatibility is 550 characters; the limit is 500")]),
    Case("compatibility-number", fm(*OK, "compatibility: 3.11"),
         [(4, "compatibility-type", "'compatibility' must be a string, got a number (3.11)")]),
    Case("license-list", fm(*OK, "license: [MIT, Apache-2.0]"),
         [(4, "license-type", "'license' must be a string, got a list")]),
    Case("metadata-not-mapping", fm(*OK, "metadata: author"),
         [(4, "metadata-type", "'metadata' must be a mapping of strings, got a string")]),
    Case("metadata-number-value", fm(*OK, "metadata:", "  author: Test", "  version: 1.0"),
         [(6, "metadata-value", "metadata value 'version' must be a string, got a number (1.0)")]),
    Case("metadata-list-value", fm(*OK, "metadata:", "  tags: [a, b]"),
         [(5, "metadata-value", "metadata value 'tags' must be a string, got a list")]),
    Case("allowed-tools-item-number", fm(*OK, "allowed-tools:", "  - Read", "  - 123"),
         [(6, "allowed-tools-type", "allowed-tools item 2 must be a string, got a number (123)")],
         profile="claude-code"),
    Case("allowed-tools-list-in-spec", fm(*OK, "allowed-tools: [Read, Bash]"),
         [(4, "allowed-tools-type", "'allowed-tools' must be a space-separated string in the spec profile, got a list")]),
    Case("nested-metadata-on-the-key-line", fm(*OK, "metadata:", "  owner:", "    team: x"),
         [(5, "metadata-value", "metadata value 'owner' must be a string, got a mapping")]),
    Case("claude-code-types", fm(*OK, 'disable-model-invocation: "yes"', "context: forked", "model: 42"),
         [(4, "disable-model-invocation-type", "'disable-model-invocation' must be true or false, got \"yes\""),
          (5, "context-type", "'context' must be 'fork', got forked"),
          (6, "model-type", "'model' must be a model name or alias such as sonnet, got 42")],
         profile="claude-code"),
    Case("metadata-flow-mapping", fm(*OK, 'metadata: {"version": "1.0"}'),
         [(4, "yaml-flow", ("'metadata' is written in YAML flow style ({...}); the reference validator "
                            "(skills-ref, strict YAML) refuses flow style"))]),
    Case("footnotes-are-not-links", fm(*OK, body="# Body\n\nA claim.[^1]\n\n[^1]: the source, 2024\n"), []),
    Case("allowed-tools-number", fm(*OK, "allowed-tools: 123"),
         [(4, "allowed-tools-type", "'allowed-tools' must be a string or a list of strings, got a number (123)")]),
    Case("unknown-key", fm(*OK, "unknown_field: should not be here"),
         [(4, "unknown-key", f"unknown key 'unknown_field' (the spec profile allows: {SPEC_KEYS})")]),
    Case("claude-code-key-under-spec", fm(*OK, "argument-hint: '[file]'"),
         [(4, "unknown-key", f"unknown key 'argument-hint' (the spec profile allows: {SPEC_KEYS})")]),
    Case("unknown-key-under-claude-code", fm(*OK, "argument-hint: '[file]'", "colour: red"),
         [(5, "unknown-key", f"unknown key 'colour' (the claude-code profile allows: {SPEC_KEYS}, ...)")],
         profile="claude-code"),
    # ---- anthropic profile -----------------------------------------------------------------------
    Case("anthropic-reserved-word", fm("name: claude-helper", "description: A test skill"),
         [(2, "name-reserved", "name 'claude-helper' contains the reserved word 'claude'")],
         folder="claude-helper", profile="anthropic"),
    Case("anthropic-xml-in-description", fm("name: my-skill", "description: Use <b>this</b> skill"),
         [(3, "xml-tag", "description contains an XML tag (<b>)")], profile="anthropic"),
    Case("anthropic-non-ascii-name", fm("name: café", "description: A test skill"),
         [(2, "name-ascii", "name 'café' must use only a-z, 0-9 and '-' for the anthropic profile")],
         folder="café", profile="anthropic"),
    # ---- warnings --------------------------------------------------------------------------------
    Case("body-too-long", fm(*OK, body="line\n" * 501),
         [(5, "body-length", "body is 501 lines; keep SKILL.md under 500")]),
    Case("broken-link", fm(*OK, body="# Body\n\nSee [the guide](references/guide.md).\n"),
         [(7, "broken-link", "link 'references/guide.md' points to a file that does not exist")]),
    Case("broken-link-with-wrapped-text",
         fm(*OK, body="# Body\n\nSee [the guide on how\nto write prompts](references/prompts.md) and\n"
                      "`[not](a-link.md)` or <https://example.com>, then [this](gone.md).\n"),
         [(8, "broken-link", "link 'references/prompts.md' points to a file that does not exist"),
          (9, "broken-link", "link 'gone.md' points to a file that does not exist")]),
    Case("reference-too-deep", fm(*OK, body="# Body\n\nSee [x](references/deep/x.md).\n"),
         [(7, "reference-depth", "reference 'references/deep/x.md' is more than one level deep")],
         extra={"references/deep/x.md": "# x\n"}),
    Case("link-outside", fm(*OK, body="# Body\n\nSee [x](../other/x.md).\n"),
         [(7, "link-outside", "link '../other/x.md' leaves the skill folder")]),
    Case("nested-skill", fm(*OK),
         [(1, "nested-skill", "nested inner/SKILL.md is not loaded as a skill")],
         extra={"inner/SKILL.md": fm("name: inner", "description: Inner")}),
]

VALID = [
    Case("minimal", fm(*OK), []),
    Case("all-fields", fm(*OK, "license: MIT", "compatibility: Requires Python 3.11+", "metadata:",
                          "  author: Test", "  version: '1.0'", "allowed-tools: Bash(jq:*) Bash(git:*)"), []),
    Case("allowed-tools-inline-list", fm(*OK, "allowed-tools: [Read, Write, Edit, Bash]"), [], profile="claude-code"),
    Case("allowed-tools-block-list", fm(*OK, "allowed-tools:", "  - Read", "  - Bash"), [], profile="claude-code"),
    Case("claude-code-name-defaults-to-the-folder", fm("description: A test skill"), [], profile="claude-code"),
    Case("chinese-name", fm("name: 技能", "description: A skill with a Chinese name"), [], folder="技能"),
    Case("russian-hyphens", fm("name: мой-навык", "description: A skill"), [], folder="мой-навык"),
    Case("nfkc-decomposed-name", fm("name: cafe\u0301", "description: A test skill"), [], folder="café"),
    Case("claude-code-keys", fm(*OK, "argument-hint: '[file]'", "disable-model-invocation: true",
                                "user-invocable: false", "model: sonnet", "context: fork", "when_to_use: Always"),
         [], profile="claude-code"),
    Case("good-links", fm(*OK, body="[a](references/a.md) [web](https://example.com) [top](#body)\n"), [],
         extra={"references/a.md": "# a\n"}),
    Case("links-in-code-are-not-links", fm(*OK, body="```\n[a](missing.md)\n```\n"), []),
]


def _write(tmp_path: Path, case: Case) -> Path:
    skill_dir = tmp_path / "skills" / case.folder
    skill_dir.mkdir(parents=True)
    data = case.text if isinstance(case.text, bytes) else case.text.encode()
    (skill_dir / "SKILL.md").write_bytes(data)
    for rel, content in case.extra.items():
        (skill_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (skill_dir / rel).write_text(content)
    return skill_dir


def test_table_is_big_enough() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES + VALID, ids=lambda c: c.id)
def test_table(tmp_path: Path, case: Case) -> None:
    skill_dir = _write(tmp_path, case)
    findings = [f for f in validate_paths([skill_dir], case.profile) if f.path == str(skill_dir / "SKILL.md")]
    assert [(f.line, f.rule, f.message) for f in findings] == case.expected
    assert all(f.hint for f in findings if f.is_error), "every error says how to fix it"


def _only(tmp_path: Path, text: str) -> tuple[int, int, str, str]:
    skill_dir = _write(tmp_path, Case("x", text, []))
    (finding,) = validate_paths([skill_dir])
    return finding.line, finding.col, finding.rule, finding.hint


def test_colon_pitfall_column_and_hint(tmp_path: Path) -> None:
    assert _only(tmp_path, fm("name: my-skill", "description: Use when: the user asks")) == (
        3, 22, "yaml-colon", "quote values that contain ': ', e.g. description: \"Use when: the user asks\"")


def test_bare_list_hint_shows_the_quoted_value(tmp_path: Path) -> None:
    assert _only(tmp_path, fm("name: my-skill", "description: [x]")) == (
        3, 14, "description-type", 'a bare [..] is a YAML list; quote it: description: "[x]"')


def test_duplicate_key_column_and_hint(tmp_path: Path) -> None:
    assert _only(tmp_path, fm("name: my-skill", "description: a", "name: my-skill")) == (
        4, 1, "yaml-duplicate-key", "remove one of the two")


def test_tab_column(tmp_path: Path) -> None:
    assert _only(tmp_path, fm(*OK, "metadata:", "  \tauthor: me")) == (5, 3, "tab", "indent with spaces")


def test_crlf_and_bom_hints(tmp_path: Path) -> None:
    assert _only(tmp_path, fm(*OK).replace("\n", "\r\n"))[3] == "convert to LF line endings (e.g. `dos2unix FILE`)"


def test_boolean_hint_quotes_the_source_text(tmp_path: Path) -> None:
    assert _only(tmp_path, fm("name: my-skill", "description: yes"))[3] == 'quote it: description: "yes"'


def test_unreadable_skill_is_a_finding(tmp_path: Path) -> None:
    skill_dir = tmp_path / "skills" / "ghost"
    skill_dir.mkdir(parents=True)
    (skill_dir / "SKILL.md").symlink_to(tmp_path / "nowhere.md")
    (finding,) = validate_paths([skill_dir])
    assert (finding.line, finding.rule, finding.message) == (
        1, "read-error", "cannot read file: No such file or directory")


def test_directory_named_skill_md_is_a_finding(tmp_path: Path) -> None:
    (tmp_path / "odd" / "SKILL.md").mkdir(parents=True)
    (finding,) = validate_paths([tmp_path / "odd" / "SKILL.md"])
    assert (finding.rule, finding.message) == ("read-error", "expected a file, found a directory")


def test_missing_path_and_empty_folder(tmp_path: Path) -> None:
    (missing,) = validate_paths([tmp_path / "nope"])
    assert (missing.rule, missing.message) == ("path-missing", "path does not exist")
    (tmp_path / "empty").mkdir()
    (empty,) = validate_paths([tmp_path / "empty"])
    assert (empty.rule, empty.message) == ("nothing-found", "no SKILL.md, runbook, ticket or eval suite found here")


def test_skill_folder_without_skill_md(tmp_path: Path) -> None:
    (tmp_path / "skills" / "half").mkdir(parents=True)
    (tmp_path / "skills" / "half" / "notes.md").write_text("x")
    (finding,) = validate_paths([tmp_path / "skills"])
    assert (finding.path, finding.rule) == (str(tmp_path / "skills" / "half"), "no-skill-md")


def test_lowercase_skill_md_is_accepted_with_a_warning(tmp_path: Path) -> None:
    skill_dir = tmp_path / "my-skill"
    skill_dir.mkdir()
    (skill_dir / "skill.md").write_text(fm(*OK))
    (finding,) = validate_paths([skill_dir])
    assert (finding.severity, finding.rule) == ("warning", "skill-md-name")


def test_reference_validator_path_cases(tmp_path: Path) -> None:
    """skills-ref's own path cases: a file that is not a skill, and a folder without SKILL.md."""
    (tmp_path / "file.txt").write_text("test")
    (not_skill,) = validate_paths([tmp_path / "file.txt"])
    assert (not_skill.rule, not_skill.message) == ("unknown-file", "not a skill, runbook, eval suite or analysis.json")
    (tmp_path / "my-skill").mkdir()
    (no_md,) = validate_paths([tmp_path / "my-skill"])
    assert (no_md.rule, no_md.severity) == ("nothing-found", "error")


def test_symlink_loops_and_linked_skills_are_checked_once(tmp_path: Path) -> None:
    skill_dir = _write(tmp_path, Case("x", fm("name: my-skill", "description: d:  x: y"), []))
    (tmp_path / "up").symlink_to(tmp_path)
    (tmp_path / ".claude" / "skills").mkdir(parents=True)
    (tmp_path / ".claude" / "skills" / "my-skill").symlink_to(skill_dir)
    (finding,) = validate_paths([tmp_path])
    assert (Path(finding.path).resolve(), finding.rule) == ((skill_dir / "SKILL.md").resolve(), "yaml-colon")


def test_alias_bomb_is_a_finding_not_a_hang(tmp_path: Path) -> None:
    lines = ["name: my-skill", "description: d", "a: &a [x, x, x, x, x, x, x, x, x]"]
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
    (finding,) = validate_paths([_write(tmp_path, Case("x", fm(*lines), []))])
    assert (finding.line, finding.rule, finding.message) == (
        2, "yaml-aliases", "front-matter expands to more than 10,000 values through YAML aliases")


def test_body_text_and_a_rule_after_the_front_matter_is_fine(tmp_path: Path) -> None:
    text = fm(*OK, body="Note: read this first.\n---\n# Body\n")
    assert validate_paths([_write(tmp_path, Case("x", text, []))]) == []


def test_spec_silent_rules_are_warnings_not_errors(tmp_path: Path) -> None:
    """CRLF and a '---' after key-like body lines: the spec has no such rule (a public skill failed for it)."""
    crlf = _write(tmp_path / "a", Case("crlf", fm(*OK).replace("\n", "\r\n"), []))
    dashes = _write(tmp_path / "b", Case("dashes", "---\nname: my-skill\ndescription: d\n---\nlicense: x\n---\n", []))
    for folder in (crlf, dashes):
        found = validate_paths([folder])
        assert found and not [f for f in found if f.is_error], found


def test_name_hints_agree_with_each_other(tmp_path: Path) -> None:
    """Every hint for a bad name suggests the same valid name; none suggests an invalid folder name."""
    same = _write(tmp_path / "a", Case("x", fm("name: Refund_Rules", "description: d"), [], folder="Refund_Rules"))
    hints = {f.hint for f in validate_paths([same]) if f.rule.startswith("name-")}
    assert hints == {"use 'refund-rules' and rename the folder to 'refund-rules'"}
    other = _write(tmp_path / "b", Case("x", fm("name: refund-rules", "description: d"), [], folder="Refund_Rules"))
    (finding,) = validate_paths([other])
    assert finding.rule == "name-folder" and finding.hint == "rename the folder to 'refund-rules'"


def test_hidden_and_category_folders_are_walked(tmp_path: Path) -> None:
    for place in (".github/skills/gh-skill", "skills/category/cat-skill"):
        (tmp_path / place).mkdir(parents=True)
        name = place.rsplit("/", 1)[1]
        (tmp_path / place / "SKILL.md").write_text(fm(f"name: {name}", "description: d"))
    (tmp_path / "skills" / "empty").mkdir()
    found = validate_paths([tmp_path])
    assert [(Path(f.path).name, f.rule) for f in found] == [("empty", "no-skill-md")]
    from agentbook.catalog.discover import discover

    targets, _ = discover(tmp_path)
    assert sorted(t.path.parent.name for t in targets) == ["cat-skill", "gh-skill"]


def test_all_findings_of_a_file_come_in_one_pass(tmp_path: Path) -> None:
    """A file with several problems reports all of them at once, not one per run of validate."""
    text = fm("name: Refund_Rules", "description: refunds", "foo: bar", "metadata:", "  a: [1]",
              body="# Body\n[x](missing.md)\n")
    found = validate_paths([_write(tmp_path, Case("x", text, [], folder="Refund_Rules"))])
    assert [(f.line, f.rule) for f in found] == [(2, "name-case"), (2, "name-chars"), (4, "unknown-key"),
                                                 (6, "metadata-value"), (9, "broken-link")]


def test_nested_skills_are_not_searched_in_tools_folders_nor_past_the_bound(tmp_path: Path) -> None:
    """The nested-skill walk went through a skill folder whole (rglob), its node_modules and git data too:
    a package's own SKILL.md there is not one the author nested, and a huge folder is searched only as
    far as the skill tool lists one."""
    skill_dir = _write(tmp_path, Case("x", fm(*OK), []))
    (skill_dir / "node_modules" / "pkg").mkdir(parents=True)
    (skill_dir / "node_modules" / "pkg" / "SKILL.md").write_text(fm(*OK))
    (skill_dir / "inner").mkdir()
    (skill_dir / "inner" / "SKILL.md").write_text(fm(*OK))
    (skill_dir / "many").mkdir()  # walked after inner/, before zz/
    for i in range(2001):  # past body_rules.NESTED_WALK_LIMIT
        (skill_dir / "many" / f"{i}.txt").write_text("")
    (skill_dir / "zz").mkdir()
    (skill_dir / "zz" / "SKILL.md").write_text(fm(*OK))
    assert [(f.rule, f.message) for f in validate_paths([skill_dir])] == [
        ("nested-skill", "nested inner/SKILL.md is not loaded as a skill")]
