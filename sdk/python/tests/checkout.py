"""Events and requests the tests send, built in one place so each test says only what differs."""

from __future__ import annotations

from typing import Any


def card(value: str) -> dict[str, str]:
    return {"kind": "card", "value": value}


def consent(customer: dict[str, str]) -> dict[str, Any]:
    """Personalised hints need the customer's consent (the daemon's default policy)."""
    return {"type": "consent", "customer": customer, "purposes": {"remember": True, "personalize": True}}


def purchase(customer: dict[str, str], *skus: str, event_id: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "purchase", "customer": customer, "currency": "EUR",
        "lines": [{"sku": sku, "name": sku.replace("-", " ").capitalize(), "qty": 1, "unit_price": 199}
                  for sku in skus]}
    if event_id is not None:
        event["event_id"] = event_id
    return event
