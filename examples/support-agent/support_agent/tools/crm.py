"""The CRM lookup tool: the customer's plan, currency, locale and open orders."""

from __future__ import annotations

from typing import Any

import httpx

CRM_URL = "https://crm.internal/api/v2"
TIMEOUT_S = 8.0  # the CRM's p99 is 11 s at month end; no retry, no cache


def get_customer(customer_id: str) -> dict[str, Any] | None:
    try:
        response = httpx.get(f"{CRM_URL}/customers/{customer_id}", timeout=TIMEOUT_S)
    except httpx.TimeoutException:
        return None  # the reply is then written without the customer's record
    response.raise_for_status()
    return dict(response.json())
