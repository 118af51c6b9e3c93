"""Open, record, hints and close against a real regularsd."""

from __future__ import annotations

import os
import re
import threading
import time
from typing import Any

import pytest

import regulars
from checkout import card, consent, purchase
from regularsd_process import Regularsd


def test_version_is_the_loaded_library_version(plugin_path: str) -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", regulars.version())
    assert regulars.version(plugin_path) == regulars.version()


def test_with_closes_the_client(options: dict[str, Any]) -> None:
    with regulars.Client(options) as client:
        assert not client.closed
        assert re.fullmatch(r"\d+\.\d+\.\d+", client.library_version)
    assert client.closed
    client.close()  # a second close is harmless
    assert client.closed


def test_a_closed_client_refuses_calls(options: dict[str, Any]) -> None:
    client = regulars.Client(options)
    client.close()
    with pytest.raises(regulars.InvalidArgumentError) as caught:
        client.hints({"customer": card("4000123")})
    assert caught.value.status == regulars.Status.INVALID_ARGUMENT
    assert caught.value.detail == "the client is closed"


def test_options_may_be_raw_json_text(options: dict[str, Any], daemon: Regularsd) -> None:
    text = f'{{"endpoint": "{daemon.endpoint}", "budget_ms": 5000}}'
    with regulars.Client(text) as client:
        assert client.hints({"customer": card("4000124")}).known is False


def test_an_unknown_customer_is_not_known(options: dict[str, Any]) -> None:
    with regulars.Client(options) as client:
        answer = client.hints({"customer": card("4000125"), "locale": "en"})
    assert answer.known is False
    assert answer.hints == [] and answer.predictions == []


def test_hints_after_a_purchase_recognise_the_customer_and_predict_the_item(options: dict[str, Any]) -> None:
    customer = card("4000126")
    with regulars.Client(options) as client:
        client.record(consent(customer))
        client.record(purchase(customer, "oat-milk"))
        answer = client.hints({"customer": customer, "locale": "en"})
    assert answer.known
    assert answer.customer["visits"] == 1
    assert answer.customer["personalized"] is True
    assert answer.hints[0]["kind"] == "greeting"
    assert "visit 2" in answer.texts[0]
    assert [p["sku"] for p in answer.predictions] == ["oat-milk"]


def test_hints_give_the_raw_json_text_as_well(options: dict[str, Any]) -> None:
    customer = card("4000127")
    with regulars.Client(options) as client:
        client.record(consent(customer))
        client.record(purchase(customer, "rye-bread"))
        answer = client.hints({"customer": customer})
        raw = client.hints_json('{"customer": {"kind": "card", "value": "4000127"}}')
    assert '"sku":"rye-bread"' in answer.raw.replace(" ", "")
    assert '"sku":"rye-bread"' in raw.replace(" ", "")


def test_each_thread_reads_the_detail_of_its_own_failure(options: dict[str, Any]) -> None:
    # regulars_last_error is per thread: thread k breaks line k of its event, and its error must name
    # line k even while the other threads fail on other lines at the same moment.
    failures: dict[int, list[str]] = {}

    def till(client: regulars.Client, k: int) -> None:
        event = purchase(card(f"40002{k}"), *[f"sku-{i}" for i in range(k + 1)])
        event["lines"][k]["qty"] = 0
        failures[k] = []
        for _ in range(30):
            with pytest.raises(regulars.InvalidInputError) as caught:
                client.record(event)
            failures[k].append(caught.value.detail)

    with regulars.Client(options) as client:
        threads = [threading.Thread(target=till, args=(client, k)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    for k, details in failures.items():
        assert len(details) == 30
        assert all(d.startswith(f"event.lines[{k}].qty:") for d in details), details


def resident_kib() -> int:
    return int(open("/proc/self/statm").read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)


def test_answers_are_freed_with_regulars_free(options: dict[str, Any]) -> None:
    # 4,000 answers of about 7 KB: kept, they would hold some 28 MB; freed, the process stays put.
    customer = card("4000128")
    lines = [f"sku-{i:02d}-{'x' * 40}" for i in range(40)]
    with regulars.Client(options) as client:
        client.record(consent(customer))
        client.record(purchase(customer, *lines))
        request = {"customer": customer, "max_predictions": 50}
        assert len(client.hints_json(request)) > 5000
        for _ in range(500):  # let the allocator reach its steady state first
            client.hints_json(request)
        before = resident_kib()
        for _ in range(4_000):
            client.hints_json(request)
        grown = resident_kib() - before
    assert grown < 6 * 1024, f"resident memory grew by {grown} KiB over 4,000 answers"


def test_a_hung_daemon_gives_a_timeout_within_the_budget(daemon: Regularsd, options: dict[str, Any]) -> None:
    with regulars.Client({**options, "budget_ms": 200}) as client:
        assert client.hints({"customer": card("4000129")}).known is False  # connected
        daemon.suspend()
        try:
            started = time.monotonic()
            with pytest.raises(regulars.TimeoutError) as caught:
                client.hints({"customer": card("4000129")})
            elapsed = time.monotonic() - started
        finally:
            daemon.resume()
    assert caught.value.status == regulars.Status.TIMEOUT
    assert elapsed < 2.0, f"hints took {elapsed:.2f} s on a 200 ms budget"


def test_close_waits_for_calls_under_way_and_later_calls_are_refused(options: dict[str, Any]) -> None:
    client = regulars.Client(options)
    outcomes: list[str] = []
    started = threading.Barrier(5)

    def till() -> None:
        started.wait()
        try:
            while True:
                client.hints({"customer": card("4000130")})
        except regulars.InvalidArgumentError as e:
            outcomes.append(e.detail)

    threads = [threading.Thread(target=till) for _ in range(4)]
    for t in threads:
        t.start()
    started.wait()
    time.sleep(0.2)  # let the threads be inside calls when close() comes
    client.close()
    for t in threads:
        t.join(timeout=30)
    assert outcomes == ["the client is closed"] * 4
