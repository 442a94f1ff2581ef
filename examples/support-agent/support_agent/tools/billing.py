"""Billing tools: invoices and plan changes."""

from __future__ import annotations

import httpx

BILLING_URL = "https://billing.internal/api"
PLANS = ("starter-monthly", "starter-annual", "team-monthly", "team-annual", "business-annual")


def get_invoice(customer_id: str, number: str) -> dict[str, object]:
    return dict(httpx.get(f"{BILLING_URL}/customers/{customer_id}/invoices/{number}").json())


def change_plan(customer_id: str, plan: str) -> None:
    # the plan name comes from the model and is not checked against PLANS
    httpx.post(f"{BILLING_URL}/customers/{customer_id}/plan", json={"plan": plan}).raise_for_status()
