"""Usage -> USD from the prices in `agentbook/data/prices.yaml` (config, not code; `AGENTBOOK_PRICES`
names a file of your own).

Exact when the model is priced (every token class billed at its own rate); otherwise costed at the
file's `default` prices and flagged `estimated`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from agentbook import yamlsafe
from agentbook.errors import FatalError
from agentbook.models.base import Usage

PER_TOKEN = 1_000_000  # prices are per million tokens
_DATE_SUFFIX = re.compile(r"-\d{8}$")
_FIELDS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")


@dataclass(frozen=True)
class Price:
    input: float
    output: float
    cache_write_5m: float
    cache_write_1h: float
    cache_read: float

    def to_json(self) -> dict[str, float]:
        return {f: getattr(self, f) for f in _FIELDS}


@dataclass(frozen=True)
class LongContext:
    """What the 1M-context beta bills past `threshold_tokens` of input (cache reads and writes counted):
    every input class at `input` times its rate and output at `output` times, for the whole request."""

    threshold_tokens: int = 200_000
    input: float = 2.0
    output: float = 1.5


@dataclass(frozen=True)
class PriceTable:
    models: dict[str, Price]
    default: Price
    batch_discount: float
    source: str
    long_context: LongContext = LongContext()


def _price(entry: Any, where: str) -> Price:
    if not isinstance(entry, dict) or set(entry) != set(_FIELDS):
        raise FatalError(f"price entry {where} must have exactly {', '.join(_FIELDS)}")
    try:
        return Price(**{f: float(entry[f]) for f in _FIELDS})
    except (TypeError, ValueError):
        raise FatalError(f"price entry {where} has a non-numeric value") from None


def load_prices(path: str | Path | None = None) -> PriceTable:
    """Read a prices file (default: the packaged one)."""
    if path is None:
        text, source = _packaged_prices(), "agentbook/data/prices.yaml"
    else:
        try:
            text, source = Path(path).read_text(encoding="utf-8"), str(path)
        except (OSError, UnicodeDecodeError) as err:
            raise FatalError(f"cannot read prices file: {err}", location=str(path)) from None
    data = yamlsafe.load(text, source, what="prices file", limit=1 << 20) or {}
    if not isinstance(data, dict):
        raise FatalError("a prices file is a mapping with `default:` and `models:`", location=source)
    models = {str(name): _price(entry, f"{source}: models.{name}")
              for name, entry in (data.get("models") or {}).items()}
    return PriceTable(models, _price(data.get("default"), f"{source}: default"),
                      float(data.get("batch_discount", 0.5)), source, _long_context(data.get("long_context"), source))


def _long_context(entry: Any, source: str) -> LongContext:
    """The file's `long_context:`, or the published surcharge when it has none (a budget never assumes
    the cheaper rate)."""
    if entry is None:
        return LongContext()
    fields = ("threshold_tokens", "input", "output")
    if not isinstance(entry, dict) or set(entry) != set(fields):
        raise FatalError(f"long_context must have exactly {', '.join(fields)}", location=source)
    try:
        found = LongContext(int(entry["threshold_tokens"]), float(entry["input"]), float(entry["output"]))
    except (TypeError, ValueError):
        raise FatalError("long_context has a non-numeric value", location=source) from None
    if found.threshold_tokens < 0 or found.input < 1 or found.output < 1:
        raise FatalError("long_context rates are multipliers of at least 1", location=source)
    return found


def _packaged_prices() -> str:
    """The packaged prices file, read beside this module; importlib.resources (which imports tempfile,
    zipfile and more, a cost every session start would pay) only for a package not on the file system."""
    beside = Path(__file__).resolve().parent.parent / "data" / "prices.yaml"
    if beside.is_file():
        return beside.read_text(encoding="utf-8")
    from importlib import resources

    return resources.files("agentbook").joinpath("data/prices.yaml").read_text(encoding="utf-8")


PRICES_ENV = "AGENTBOOK_PRICES"  # a prices file of your own instead of the packaged one


@cache
def price_table() -> PriceTable:
    override = os.environ.get(PRICES_ENV)
    if override and not Path(override).is_file():
        raise FatalError(f"{PRICES_ENV}={override}: no such prices file")
    return load_prices(override or None)


def price_for(model: str, table: PriceTable | None = None) -> tuple[Price, bool]:
    """(price, estimated): exact name, then without a date suffix, then the longest priced prefix."""
    table = table or price_table()
    for name in (model, _DATE_SUFFIX.sub("", model)):
        if name in table.models:
            return table.models[name], False
    prefixes = [k for k in table.models if model.startswith(k)]
    if prefixes:
        return table.models[max(prefixes, key=len)], False
    return table.default, True


def cost_usd(model: str, usage: Usage, batch: bool = False, *, table: PriceTable | None = None,
             long_context: bool | None = False) -> tuple[float, bool]:
    """USD for `usage` on `model` and whether that is an estimate (model not in the price table).

    `long_context`: the request was sent with the 1M-context beta, so past the table's threshold it is
    billed at the long-context rates; `None` bills those rates whatever the size (a reservation's worst
    case, made before the real input is known)."""
    table = table or price_table()
    price, estimated = price_for(model, table)
    longer = table.long_context
    surcharged = long_context is None or (long_context and usage.total_input > longer.threshold_tokens)
    into, out = (longer.input, longer.output) if surcharged else (1.0, 1.0)
    # cache writes the server did not split by TTL are billed at the 5-minute rate
    unsplit = max(0, usage.cache_creation_input_tokens - usage.cache_creation_5m - usage.cache_creation_1h)
    total = (usage.input_tokens * price.input * into
             + usage.output_tokens * price.output * out
             + (usage.cache_creation_5m + unsplit) * price.cache_write_5m * into
             + usage.cache_creation_1h * price.cache_write_1h * into
             + usage.cache_read_input_tokens * price.cache_read * into) / PER_TOKEN
    if batch:
        total *= table.batch_discount
    return total, estimated
