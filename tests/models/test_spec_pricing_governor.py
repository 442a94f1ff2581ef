"""Spec strings, prices from the config file, and the shared rate-limit governor."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from agentbook.errors import FatalError
from agentbook.models import Usage, parse_spec
from agentbook.models.governor import Governor
from agentbook.models.pricing import cost_usd, load_prices, price_for


def test_compat_spec_with_options() -> None:
    spec = parse_spec("compat:http://localhost:11434/#llama3:8b?auth=x-api-key&version=2023-06-01"
                      "&key_env=OLLAMA_KEY&retries=5&timeout=30&body.options=%7B%22num_ctx%22%3A8192%7D")
    assert (spec.kind, spec.base_url, spec.model) == ("compat", "http://localhost:11434", "llama3:8b")
    assert (spec.auth, spec.version, spec.key_env, spec.retries, spec.timeout) == (
        "x-api-key", "2023-06-01", "OLLAMA_KEY", 5, 30.0)
    assert spec.extra_body == {"options": {"num_ctx": 8192}}


def test_anthropic_and_scripted_specs() -> None:
    assert parse_spec("anthropic:claude-opus-5").model == "claude-opus-5"
    scripted = parse_spec("scripted:examples/sessions/explore.script.yaml?retries=0")
    assert (scripted.script, scripted.retries) == ("examples/sessions/explore.script.yaml", 0)


@pytest.mark.parametrize(("spec", "message"), [
    ("claude-opus-5", ("bad model spec 'claude-opus-5' (use anthropic:<model>, compat:<base-url>#<model>, "
                      "scripted:<file.script.yaml> or an alias from $AGENTBOOK_MODELS)")),
    ("openai:gpt", ("unknown model backend 'openai' in 'openai:gpt' (use anthropic:<model>, "
                   "compat:<base-url>#<model>, scripted:<file.script.yaml> or an alias from $AGENTBOOK_MODELS)")),
    ("compat:http://h:1", ("bad model spec 'compat:http://h:1': compat needs a model after '#' "
                          "(e.g. compat:http://localhost:11434#llama3)")),
    ("compat:localhost:1#m", "bad model spec 'compat:localhost:1#m': 'localhost:1' is not an http(s) URL"),
    ("anthropic:m?auth=basic", ("model spec 'anthropic:m?auth=basic': auth must be one of bearer, "
                               "x-api-key, none, not 'basic'")),
    ("anthropic:m?retries=many", ("model spec 'anthropic:m?retries=many': retries must be a number, "
                                 "not 'many'")),
    ("anthropic:m?colour=red", ("model spec 'anthropic:m?colour=red': unknown option 'colour' "
                               "(options: auth, version, key_env, retries, timeout, body.<field>)")),
])
def test_bad_specs_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(FatalError) as info:
        parse_spec(spec)
    assert info.value.render() == message
    assert info.value.exit_code == 3


def test_cost_is_exact_per_token_class() -> None:
    usage = Usage(input_tokens=1_000, output_tokens=2_000, cache_creation_input_tokens=10_000,
                  cache_read_input_tokens=100_000, cache_creation_5m=4_000, cache_creation_1h=6_000)
    usd, estimated = cost_usd("claude-sonnet-4-5", usage)
    # 1k*3 + 2k*15 + 4k*3.75 + 6k*6 + 100k*0.30, per million
    assert usd == pytest.approx((3_000 + 30_000 + 15_000 + 36_000 + 30_000) / 1e6)
    assert estimated is False
    batch_usd, _ = cost_usd("claude-sonnet-4-5", usage, batch=True)
    assert batch_usd == pytest.approx(usd * 0.5)


def test_unsplit_cache_writes_bill_at_the_5m_rate() -> None:
    usage = Usage(cache_creation_input_tokens=1_000_000)
    assert cost_usd("claude-opus-5", usage) == (pytest.approx(6.25), False)


def test_model_name_matching_and_estimates() -> None:
    dated, estimated = price_for("claude-sonnet-4-5-20250929")
    assert dated.input == 3.0 and not estimated
    assert price_for("claude-opus-4-1-20250805")[0].output == 75.0
    assert price_for("claude-sonnet-5-5")[0].cache_read == 0.10  # longest prefix, not claude-sonnet-5
    usd, estimated = cost_usd("llama3", Usage(input_tokens=1_000_000))
    assert (usd, estimated) == (pytest.approx(3.0), True)
    assert cost_usd("scripted", Usage(input_tokens=10**6, output_tokens=10**6)) == (0.0, False)


def test_prices_file_errors_are_clear(tmp_path: Path) -> None:
    bad = tmp_path / "prices.yaml"
    bad.write_text("default: {input: 1, output: 2, cache_write_5m: 1, cache_write_1h: 1, cache_read: x}\n")
    with pytest.raises(FatalError, match=r"price entry .*: default has a non-numeric value"):
        load_prices(bad)
    bad.write_text("default: {input: 1}\n")
    with pytest.raises(FatalError, match="must have exactly input, output, cache_write_5m"):
        load_prices(bad)
    bad.write_text("default: [\n")
    with pytest.raises(FatalError) as info:
        load_prices(bad)
    assert str(info.value) == f"{bad}:2:1: invalid YAML in prices file: expected the node content, but found '<stream end>'"
    bad.write_bytes(b"\xff\xfe")
    with pytest.raises(FatalError, match="cannot read prices file"):
        load_prices(bad)


def test_governor_honours_retry_after_and_backs_off_without_it() -> None:
    gov = Governor(rng=random.Random(3))
    assert gov.delay() == 0.0
    pause = gov.limited(2.0)
    assert 1.9 < pause <= 2.0
    assert 1.9 < gov.delay() <= 2.0 + 0.2  # jitter adds at most 10% of the pause
    # no retry-after: exponential backoff with full jitter (here drawing its maximum), capped at 8 s,
    # one step per failure window
    clock = _Clock()
    top = Governor(rng=_Top(), clock=clock)
    pauses = []
    for _ in range(6):
        pauses.append(top.limited(None))
        clock.now += 100  # the pause has passed: the next failure opens a new window
    assert pauses == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    top.ok()
    assert top.limited(None) == 0.5  # a success starts the streak over


def test_failures_in_one_window_count_once() -> None:
    clock = _Clock()
    gov = Governor(rng=_Top(), clock=clock)
    assert [gov.limited(None) for _ in range(12)] == [0.5] * 12  # 12 sessions failing together
    clock.now += 0.4
    assert gov.delay() == pytest.approx(0.1 + 0.01)  # remaining plus 10% jitter (drawn at its max)
    clock.now += 1
    assert gov.delay() == 0.0 and gov.limited(None) == 1.0  # the next window: one step up


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class _Top(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return b


def test_aliases_name_specs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    aliases = tmp_path / "models.yaml"
    aliases.write_text("aliases:\n  local: 'compat:http://localhost:11434#llama3?auth=x-api-key'\n")
    monkeypatch.setenv("AGENTBOOK_MODELS", str(aliases))
    spec = parse_spec("local")
    assert (spec.kind, spec.model, spec.auth) == ("compat", "llama3", "x-api-key")
    assert spec.spec == "local (compat:http://localhost:11434#llama3?auth=x-api-key)"
    with pytest.raises(FatalError, match="bad model spec 'remote'"):
        parse_spec("remote")
    aliases.write_text("aliases: [a, b]\n")
    with pytest.raises(FatalError) as info:
        parse_spec("local")
    assert info.value.location == str(aliases)
    assert info.value.message == "expected `aliases:` mapping names to spec strings"
    monkeypatch.setenv("AGENTBOOK_MODELS", str(tmp_path / "missing.yaml"))
    with pytest.raises(FatalError, match="AGENTBOOK_MODELS=.*missing.yaml: no such file"):
        parse_spec("local")
