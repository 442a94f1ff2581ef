"""helpdesk-copilot: a customer-support agent for a subscription product (the second example system)."""
