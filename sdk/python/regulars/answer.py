"""The hints answer (sdk/PROTOCOL.md, "Hints answer"): the parsed document and its raw JSON text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict, cast


class Consent(TypedDict, total=False):
    remember: bool
    personalize: bool


class Customer(TypedDict, total=False):
    known: bool
    visits: int
    first_seen: str
    last_seen: str
    days_since_last: int
    personalized: bool
    consent: Consent


class Hint(TypedDict, total=False):
    kind: str
    priority: int
    text: str
    why: str


class Prediction(TypedDict, total=False):
    sku: str
    name: str
    score: float
    reason: str


class Offer(TypedDict, total=False):
    offer_id: str
    rule: str
    kind: str
    text: str
    why: str
    cost: int
    status: str


@dataclass(frozen=True)
class HintsAnswer:
    """What regulars_hints answered. `data` is the whole parsed object, fields this binding does not
    name included (the protocol adds response fields within version 1); `raw` is the text as received."""

    raw: str
    data: dict[str, Any]

    @property
    def customer(self) -> Customer:
        return cast(Customer, self.data.get("customer", {}))

    @property
    def known(self) -> bool:
        """Whether the store recognised the customer."""
        return bool(self.customer.get("known", False))

    @property
    def hints(self) -> list[Hint]:
        """The cashier's hints, highest priority first."""
        return cast("list[Hint]", self.data.get("hints", []))

    @property
    def predictions(self) -> list[Prediction]:
        """Items the customer is likely to buy, best score first."""
        return cast("list[Prediction]", self.data.get("predictions", []))

    @property
    def offers(self) -> list[Offer]:
        """Loyalty gestures that apply now; report each back with an offer_outcome event."""
        return cast("list[Offer]", self.data.get("offers", []))

    @property
    def ask_feedback(self) -> bool:
        return bool(self.data.get("ask_feedback", False))

    @property
    def texts(self) -> list[str]:
        """The hints' texts in order, ready for the cashier's screen."""
        return [hint.get("text", "") for hint in self.hints]
