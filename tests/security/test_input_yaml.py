"""Attacks through YAML: every reader goes through `agentbook.yamlsafe`, so a hostile suite, ticket,
script, prices or aliases file fails fast at file:line:col with exit 3, never hangs, never runs code and
never leaves half-written output."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.conftest import CliResult
from tests.security.input_support import Outside, billion_laughs

from agentbook.errors import FatalError
from agentbook.models.pricing import price_table
from agentbook.runbooks.tickets import parse_ticket
from agentbook.yamlsafe import load

Cli = Callable[..., CliResult]
ALIAS_HINT = "(write the values out instead of using '&anchor' / '*alias')"
BOMB_ERROR = f"invalid YAML: aliases expand to more than 1,000,000 values {ALIAS_HINT}"
TAG_HINT = "(remove the tag; agentbook reads plain data only)"
DUP_HINT = "(keep one of the two; YAML does not allow a key twice)"


def suite(tmp_path: Path, head: str = "", case: str = "    vars: {q: hi}\n", name: str = "suite.yaml") -> Path:
    path = tmp_path / name
    path.write_text(head + 'prompts: ["{{q}}"]\nproviders: [echo]\ntests:\n  - id: a\n' + case)
    return path


def bomb_suite(tmp_path: Path) -> Path:
    return suite(tmp_path, billion_laughs(), "    vars: {q: *l8}\n")


@pytest.fixture
def fresh_prices() -> Iterator[None]:
    """The price table is read once per process; these tests point AGENTBOOK_PRICES at hostile files."""
    price_table.cache_clear()
    yield
    price_table.cache_clear()


def error_of(result: CliResult) -> str:
    assert result.err.startswith("agentbook: error: "), result.err
    return result.err.removeprefix("agentbook: error: ").strip()


@pytest.mark.parametrize("command", [["eval", "list"], ["eval", "show", "@", "a"], ["eval", "stats"],
                                     ["eval", "run", "@", "--model", "scripted:none.script.yaml"]])
def test_billion_laughs_in_a_suite_fails_fast_at_its_line(run_cli: Cli, tmp_path: Path, command: list[str]) -> None:
    path = bomb_suite(tmp_path)
    args = [str(path) if a == "@" else a for a in command]
    result = run_cli(*args, *([] if "@" in command else [str(path)]))
    assert result.code == 3
    assert error_of(result) == f"{path}:7:5: {BOMB_ERROR}"  # l6 is the first anchor past the cap


def test_billion_laughs_split_writes_nothing(run_cli: Cli, tmp_path: Path) -> None:
    path = bomb_suite(tmp_path)
    result = run_cli("eval", "split", path, "--out", tmp_path / "split")
    assert result.code == 3 and error_of(result) == f"{path}:7:5: {BOMB_ERROR}"
    assert not (tmp_path / "split").exists()


def test_billion_laughs_through_merge_keys(run_cli: Cli, tmp_path: Path) -> None:
    maps = ["m0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9}"]
    maps += [f"m{n}: &m{n} {{" + ", ".join(f"k{k}: *m{n - 1}" for k in range(9)) + "}" for n in range(1, 9)]
    path = suite(tmp_path, "\n".join(maps) + "\n", "    vars: {<<: *m8}\n")
    result = run_cli("eval", "show", path, "a")
    assert result.code == 3 and error_of(result) == f"{path}:6:5: {BOMB_ERROR}"  # a mapping counts keys too


def test_an_alias_that_contains_itself(run_cli: Cli, tmp_path: Path) -> None:
    path = suite(tmp_path, "loop: &loop [1, *loop]\n")
    result = run_cli("eval", "list", path)
    assert result.code == 3
    assert error_of(result) == (f"{path}:1:7: invalid YAML: an alias refers to a node that contains it "
                                "(YAML that contains itself cannot be read as data)")


def test_billion_laughs_in_models_aliases_and_prices(run_cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     fresh_prices: None) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(billion_laughs())
    monkeypatch.setenv("AGENTBOOK_PRICES", str(bomb))
    prices = run_cli("models", "list")
    assert prices.code == 3
    assert error_of(prices) == f"{bomb}:7:5: invalid YAML in prices file: aliases expand to more than 1,000,000 " \
                               f"values {ALIAS_HINT}"
    monkeypatch.delenv("AGENTBOOK_PRICES")
    monkeypatch.setenv("AGENTBOOK_MODELS", str(bomb))
    aliases = run_cli("models", "list")
    assert aliases.code == 3 and error_of(aliases) == f"{bomb}:7:5: {BOMB_ERROR}"


def test_billion_laughs_in_a_ticket_is_capped_lower() -> None:
    laughs = billion_laughs("  ", levels=5)  # 9**5 = 59,049 values: fine in a suite, too many for a ticket
    with pytest.raises(FatalError) as info:
        parse_ticket(f"---\ninputs:\n{laughs}---\nbody\n", "T.md")
    assert str(info.value) == f"T.md:7:7: invalid YAML in ticket front-matter: aliases expand to more than " \
                              f"10,000 values {ALIAS_HINT}"


def test_python_object_tag_in_a_suite_runs_nothing(run_cli: Cli, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = suite(tmp_path, case=f'    vars: {{q: !!python/object/apply:os.system ["touch {marker}"]}}\n')
    for args in (["eval", "list", path], ["eval", "show", path, "a"], ["validate", path]):
        result = run_cli(*args)
        assert result.code in (1, 3) and "Traceback" not in result.err + result.out
    result = run_cli("eval", "show", path, "a")
    assert result.code == 3
    assert error_of(result) == f"{path}:5:15: invalid YAML: tag '!!python/object/apply:os.system' is not allowed {TAG_HINT}"
    assert not marker.exists()


def test_python_name_tag_in_a_script(run_cli: Cli, tmp_path: Path) -> None:
    script = tmp_path / "s.script.yaml"
    script.write_text("version: 1\nmodel: m\nx: !!python/name:os.system\n")
    result = run_cli("standin", "check", "--script", script)
    assert result.code == 3
    assert error_of(result) == f"{script}:3:4: invalid YAML: tag '!!python/name:os.system' is not allowed {TAG_HINT}"


def test_custom_include_tag_is_refused(run_cli: Cli, tmp_path: Path) -> None:
    outside = Outside(tmp_path)
    path = suite(tmp_path, case=f"    vars: {{q: !include {outside.path / 'secret.txt'}}}\n")
    result = run_cli("eval", "show", path, "a")
    assert result.code == 3 and error_of(result) == f"{path}:5:15: invalid YAML: tag '!include' is not allowed {TAG_HINT}"
    assert "TOP-SECRET" not in result.out + result.err


def test_python_tag_in_a_ticket() -> None:
    with pytest.raises(FatalError) as info:
        parse_ticket("---\nrunbook: !!python/object/apply:os.system [id]\n---\nbody\n", "T.md")
    assert str(info.value) == ("T.md:2:10: invalid YAML in ticket front-matter: tag "
                               f"'!!python/object/apply:os.system' is not allowed {TAG_HINT}")


def test_duplicate_keys_in_a_case_are_an_error_not_last_wins(run_cli: Cli, tmp_path: Path) -> None:
    path = suite(tmp_path, case="    vars: {q: harmless}\n    vars: {q: hidden}\n")
    for args in (["eval", "show", path, "a"], ["eval", "run", path, "--model", "scripted:x.script.yaml"]):
        result = run_cli(*args)
        assert result.code == 3
        assert error_of(result) == f"{path}:6:5: invalid YAML: duplicate key 'vars' (first on line 5) {DUP_HINT}"


def test_duplicate_keys_in_a_ticket_and_prices(run_cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               fresh_prices: None) -> None:
    with pytest.raises(FatalError) as info:
        parse_ticket("---\nrunbook: fix-prompt\nrunbook: add-eval\n---\nbody\n", "T.md")
    assert str(info.value) == ("T.md:3:1: invalid YAML in ticket front-matter: duplicate key 'runbook' "
                               f"(first on line 2) {DUP_HINT}")
    prices = tmp_path / "prices.yaml"
    prices.write_text("default: {input: 1, output: 1}\ndefault: {input: 0, output: 0}\nmodels: {}\n")
    monkeypatch.setenv("AGENTBOOK_PRICES", str(prices))
    result = run_cli("models", "list")
    assert result.code == 3
    assert error_of(result) == (f"{prices}:2:1: invalid YAML in prices file: duplicate key 'default' "
                                f"(first on line 1) {DUP_HINT}")


def test_deep_nesting_is_refused_both_below_and_above_libyamls_limit(run_cli: Cli, tmp_path: Path) -> None:
    deep = suite(tmp_path, case="    vars: {q: " + "[" * 300 + "]" * 300 + "}\n", name="deep.yaml")
    result = run_cli("eval", "show", deep, "a")
    assert result.code == 3 and error_of(result) == f"{deep}:5:114: invalid YAML: nested more than 200 levels deep"
    deeper = suite(tmp_path, case="    vars: {q: " + "[" * 5000 + "]" * 5000 + "}\n", name="deeper.yaml")
    result = run_cli("eval", "show", deeper, "a")
    assert result.code == 3 and "exceeded maximum nesting depth" in error_of(result)
    assert error_of(result).startswith(f"{deeper}:5:")


def test_a_huge_suite_is_refused_before_it_is_read(run_cli: Cli, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = suite(tmp_path, case="    vars: {q: '" + "x" * 20_000 + "'}\n")
    monkeypatch.setenv("AGENTBOOK_YAML_MAX_BYTES", "10000")
    size = path.stat().st_size
    result = run_cli("eval", "list", path)
    assert result.code == 3
    assert error_of(result) == (f"{path}: suite file is {size:,} bytes, more than the limit of 10,000 "
                                "(split it (`agentbook eval split`) or raise AGENTBOOK_YAML_MAX_BYTES)")


@pytest.mark.parametrize(("raw", "problem"), [
    (b'    vars: {q: "a\x00b"}\n', "unacceptable character #x0000: control characters are not allowed"),
    (b'    vars: {q: "\xff\xfe"}\n', "unacceptable character #x00ff: invalid leading UTF-8 octet"),
])
def test_nul_and_invalid_utf8_in_a_suite(run_cli: Cli, tmp_path: Path, raw: bytes, problem: str) -> None:
    path = tmp_path / "suite.yaml"
    path.write_bytes(b'prompts: ["{{q}}"]\ntests:\n  - id: a\n' + raw)
    result = run_cli("eval", "show", path, "a")
    assert result.code == 3 and error_of(result) == f"{path}: invalid YAML: {problem} (fix the syntax, then retry)"


def test_bom_is_tolerated_but_does_not_hide_a_duplicate(tmp_path: Path) -> None:
    with pytest.raises(FatalError) as info:
        load("\ufeffa: 1\na: 2\n", "f.yaml")
    assert str(info.value) == f"f.yaml:2:1: invalid YAML: duplicate key 'a' (first on line 1) {DUP_HINT}"
    assert load("\ufeffa: 1\n", "f.yaml") == {"a": 1}


def test_set_value_cannot_smuggle_a_tag_or_bomb(run_cli: Cli, tmp_path: Path) -> None:
    path = suite(tmp_path)
    before = path.read_bytes()
    result = run_cli("eval", "edit", path, "a", "--set", "vars.q=!!python/object/apply:os.system [id]")
    assert result.code == 3
    assert error_of(result) == f"value:1:1: invalid YAML: tag '!!python/object/apply:os.system' is not allowed {TAG_HINT}"
    assert path.read_bytes() == before
