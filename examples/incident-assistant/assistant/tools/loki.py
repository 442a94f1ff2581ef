"""The `loki.query` tool: run the LogQL the logql prompt wrote against the tenant's Loki.

`query_range` asks a live Loki; `replay` answers the same query from the log lines recorded with an
incident (what `agentbook backtest run` feeds the assistant), with the same LogQL subset the assistant
writes: a stream selector `{label="value", ...}` and line filters `|=`, `!=`, `|~`, `!~`.

Known weakness (the backtest's "loki timeout" cohort): the range is whatever the caller asks for,
24 hours by default, with neither a cap at the alert window nor a split into chunks, so busy tenants
time out after 30 s and the assistant answers without log evidence.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

DEFAULT_SINCE = "24h"
TIMEOUT_S = 30.0
# Lines are shortened before they go into the root-cause prompt, to keep it small.
MAX_LINE_CHARS = 200

_SELECTOR = re.compile(r'^\s*\{(?P<labels>[^}]*)\}(?P<pipeline>.*)$', re.DOTALL)
_MATCHER = re.compile(r'\s*(?P<name>[A-Za-z_]\w*)\s*(?P<op>=~|!~|!=|=)\s*"(?P<value>(?:[^"\\]|\\.)*)"\s*')
_FILTER = re.compile(r'\s*(?P<op>\|=|!=|\|~|!~)\s*"(?P<value>(?:[^"\\]|\\.)*)"')
_LINE = re.compile(r'^(?P<ts>\S+) \{(?P<labels>[^}]*)\} (?P<content>.*)$')


class LogQLError(ValueError):
    """The query is not LogQL this tool can run (Loki would answer `parse error`)."""


@dataclass(frozen=True)
class LokiQuery:
    base_url: str
    query: str
    since: str = DEFAULT_SINCE
    limit: int = 500

    def url(self) -> str:
        params = urllib.parse.urlencode({"query": self.query, "since": self.since, "limit": self.limit})
        return f"{self.base_url.rstrip('/')}/loki/api/v1/query_range?{params}"


def query_range(q: LokiQuery, tenant: str, timeout_s: float = TIMEOUT_S) -> list[str]:
    """Log lines (newest first) for the query; raises on HTTP errors and timeouts like the real tool."""
    request = urllib.request.Request(q.url(), headers={"X-Scope-OrgID": tenant})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        body: dict[str, Any] = json.load(response)
    return [_shorten(line) for stream in body["data"]["result"] for _, line in stream["values"]]


def replay(q: LokiQuery, recorded: list[str]) -> list[str]:
    """What Loki returns for `q` over the recorded lines (`<ts> {labels} <line>`): newest first, at most
    `q.limit`, each shortened like the live tool's. Raises LogQLError for a query it cannot run."""
    matchers, filters = _parse(q.query)
    out = []
    for raw in recorded:
        line = _LINE.match(raw)
        if line is None:
            continue
        labels = dict((m["name"], m["value"]) for m in _MATCHER.finditer(line["labels"]))
        if all(_label_ok(labels.get(name, ""), op, value) for name, op, value in matchers) and \
                all(_line_ok(line["content"], op, value) for op, value in filters):
            out.append(raw)
    out.sort(key=lambda raw: raw.split(" ", 1)[0], reverse=True)
    return [_shorten(line) for line in out[:q.limit]]


def _shorten(line: str) -> str:
    return line[:MAX_LINE_CHARS]


def _parse(query: str) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    found = _SELECTOR.match(query)
    if found is None:
        raise LogQLError(f"parse error: syntax error: a log query starts with a stream selector: {query[:80]}")
    matchers = [(m["name"], m["op"], m["value"]) for m in _MATCHER.finditer(found["labels"])]
    if not matchers:
        raise LogQLError("parse error: queries require at least one regexp or equality matcher")
    pipeline, filters, pos = found["pipeline"], [], 0
    for stage in _FILTER.finditer(pipeline):
        if pipeline[pos:stage.start()].strip():
            break
        filters.append((stage["op"], stage["value"].replace('\\"', '"')))
        pos = stage.end()
    if pipeline[pos:].strip():
        raise LogQLError(f"parse error: this tool runs line filters only, not {pipeline[pos:].strip()[:60]!r}")
    return matchers, filters


def _label_ok(actual: str, op: str, value: str) -> bool:
    if op in ("=", "!="):
        return (actual == value) == (op == "=")
    return (re.fullmatch(value, actual) is not None) == (op == "=~")


def _line_ok(content: str, op: str, value: str) -> bool:
    if op in ("|=", "!="):
        return (value in content) == (op == "|=")
    try:
        hit = re.search(value, content) is not None
    except re.error as err:
        raise LogQLError(f"parse error: invalid regexp {value!r}: {err}") from None
    return hit == (op == "|~")
