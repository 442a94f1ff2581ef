"""One ticket: classify it, look the customer up, search the knowledge base, act, reply."""

from __future__ import annotations

from support_agent import retrieval
from support_agent.tools import billing, crm

MAX_STEPS = 6


def handle_ticket(ticket: dict[str, str], llm) -> str:
    intent = llm("classify", ticket["body"])
    customer = crm.get_customer(ticket["customer_id"])  # None when the CRM does not answer in time
    articles = retrieval.search(ticket["body"], top_k=3)
    if intent == "plan-change":
        plan = llm("pick_plan", ticket["body"])
        billing.change_plan(ticket["customer_id"], plan)
    return llm("reply", {"ticket": ticket, "customer": customer, "articles": articles})
