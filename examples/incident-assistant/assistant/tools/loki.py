"""The `loki.query` tool: run the LogQL the logql prompt wrote against the tenant's Loki.

Known weakness (the backtest's "loki timeout" cohort): the range is whatever the caller asks for,
24 hours by default, with neither a cap at the alert window nor a split into chunks, so busy tenants
time out after 30 s and the assistant answers without log evidence.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

DEFAULT_SINCE = "24h"
TIMEOUT_S = 30.0


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
    return [line for stream in body["data"]["result"] for _, line in stream["values"]]
