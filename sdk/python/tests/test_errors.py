"""Every status becomes a typed error carrying the status, its name, strerror and the detail."""

from __future__ import annotations

from typing import Any

import pytest

import regulars
from checkout import card, purchase
from regulars._native import load_library


def test_an_invalid_event_names_the_field(options: dict[str, Any]) -> None:
    event = purchase(card("4000200"), "oat-milk")
    event["lines"][0]["qty"] = 0
    with regulars.Client(options) as client:
        with pytest.raises(regulars.InvalidInputError) as caught:
            client.record(event)
    error = caught.value
    assert error.status == regulars.Status.INVALID_INPUT == 1
    assert error.status_name == "REGULARS_INVALID_INPUT"
    assert error.message == "invalid input"
    assert error.detail.startswith("event.lines[0].qty:")
    assert str(error).startswith("REGULARS_INVALID_INPUT (1): invalid input: event.lines[0].qty:")


def test_an_invalid_hints_request_names_the_field(options: dict[str, Any]) -> None:
    with regulars.Client(options) as client:
        with pytest.raises(regulars.InvalidInputError) as caught:
            client.hints({"customer": {"kind": "fingerprint", "value": "x"}})
    assert "customer.kind" in caught.value.detail


def test_invalid_options_name_the_option(plugin_path: str) -> None:
    with pytest.raises(regulars.InvalidInputError) as caught:
        regulars.Client({"budget_ms": 0}, library=plugin_path)
    assert caught.value.detail.startswith("options.budget_ms:")


def test_malformed_json_text_is_invalid_input(options: dict[str, Any]) -> None:
    with regulars.Client(options) as client:
        with pytest.raises(regulars.InvalidInputError) as caught:
            client.record('{"type": "purchase",')
    assert caught.value.detail


@pytest.mark.parametrize("bad, reason", [
    ('{"type": "note"}\0{"ignored": 1}', "NUL"),
    ({"type": "purchase", "lines": [{"sku": "a", "qty": float("nan")}]}, "cannot be written as JSON"),
    ({"type": "purchase", "lines": {"a", "b"}}, "cannot be written as JSON"),
    ('{"type": "note", "text": "\ud800"}', "not valid Unicode"),
])
def test_input_that_cannot_cross_the_boundary_is_refused_here(options: dict[str, Any], bad: Any, reason: str) -> None:
    with regulars.Client(options) as client:
        with pytest.raises(regulars.InvalidInputError) as caught:
            client.record(bad)
    assert caught.value.detail.startswith("event:")
    assert reason in caught.value.detail


def test_a_document_of_the_wrong_type_is_a_type_error(options: dict[str, Any]) -> None:
    with regulars.Client(options) as client:
        with pytest.raises(TypeError, match="event must be a mapping or JSON text, not list"):
            client.record([{"type": "note"}])  # type: ignore[arg-type]


@pytest.mark.parametrize("status, cls", [
    (1, regulars.InvalidInputError), (2, regulars.UnavailableError), (3, regulars.TimeoutError),
    (4, regulars.NotFoundError), (5, regulars.DeniedError), (6, regulars.SpoolFullError),
    (7, regulars.InternalError), (8, regulars.InvalidArgumentError), (9, regulars.ProtocolError),
    (10, regulars.IoError),
])
def test_each_status_has_its_own_error_class(status: int, cls: type[regulars.RegularsError]) -> None:
    error = regulars.error_for_status(status, "message", "detail")
    assert type(error) is cls
    assert isinstance(error, regulars.RegularsError)
    assert error.status_name == f"REGULARS_{regulars.Status(status).name}"


def test_a_status_newer_than_the_binding_is_the_base_error(plugin_path: str) -> None:
    strerror = load_library(plugin_path).strerror(42)
    assert strerror == "unknown status"
    error = regulars.error_for_status(42, strerror, "")
    assert type(error) is regulars.RegularsError
    assert error.status == 42
    assert error.status_name == "REGULARS_STATUS_42"
    assert str(error) == "REGULARS_STATUS_42 (42): unknown status"
