"""Regulars for Python: the checkout's customer memory, over libregulars' C ABI (ctypes).

    import regulars

    with regulars.Client({"endpoint": "unix:/var/lib/regulars/regularsd.sock", "terminal": "lane-1"}) as client:
        client.record({"type": "purchase", "customer": {"kind": "card", "value": "4000123"},
                       "lines": [{"sku": "oat-milk", "name": "Oat milk", "qty": 1, "unit_price": 199}]})
        for text in client.hints({"customer": {"kind": "card", "value": "4000123"}}).texts:
            print(text)
"""

from ._native import PLUGIN_ENV, LibraryError
from .answer import Consent, Customer, Hint, HintsAnswer, Offer, Prediction
from .client import Client, JsonDocument, version
from .errors import (
    DeniedError,
    InternalError,
    InvalidArgumentError,
    InvalidInputError,
    IoError,
    NotFoundError,
    ProtocolError,
    RegularsError,
    SpoolFullError,
    Status,
    TimeoutError,
    UnavailableError,
    error_for_status,
    status_name,
)

__all__ = [
    "PLUGIN_ENV",
    "Client",
    "Consent",
    "Customer",
    "DeniedError",
    "Hint",
    "HintsAnswer",
    "InternalError",
    "InvalidArgumentError",
    "InvalidInputError",
    "IoError",
    "JsonDocument",
    "LibraryError",
    "NotFoundError",
    "Offer",
    "Prediction",
    "ProtocolError",
    "RegularsError",
    "SpoolFullError",
    "Status",
    "TimeoutError",
    "UnavailableError",
    "error_for_status",
    "status_name",
    "version",
]
