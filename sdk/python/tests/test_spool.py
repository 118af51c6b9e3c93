"""The spool: while regularsd is down a record is kept on disk and arrives once the daemon is back."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import regulars
from checkout import card, consent, purchase
from regularsd_process import Regularsd


def wait_for_visits(client: regulars.Client, customer: dict[str, str], visits: int, timeout_s: float = 20) -> int:
    """Asks for hints until the customer has `visits` visits; returns the last count seen."""
    deadline = time.monotonic() + timeout_s
    seen = -1
    while time.monotonic() < deadline:
        try:
            seen = client.hints({"customer": customer}).customer.get("visits", 0)
        except (regulars.UnavailableError, regulars.TimeoutError):
            pass  # still reconnecting
        if seen == visits:
            break
        time.sleep(0.1)
    return seen


def test_a_record_spooled_while_the_daemon_is_down_arrives_after_restart(
        daemon: Regularsd, options: dict[str, Any], tmp_path: Path, regularsctl: Callable[..., str]) -> None:
    customer = card("4000300")
    spool = tmp_path / "spool"
    with regulars.Client({**options, "spool_dir": str(spool)}) as client:
        # Daemon up: the consent goes straight through, and the hello gives the client the spool key.
        client.record(consent(customer))
        assert daemon.stop() == 0

        with pytest.raises(regulars.UnavailableError):
            client.hints({"customer": customer})
        client.record(purchase(customer, "oat-milk", event_id="py-spooled-1"))  # OK: only the spool can hold it
        assert sum(f.stat().st_size for f in spool.glob("spool-*.rsp")) > 0

        daemon.start()
        assert wait_for_visits(client, customer, 1) == 1

    export = json.loads(regularsctl("export", "--kind", "card", "--value", customer["value"]))
    ids = [e["body"]["event_id"] for e in export["events"]]
    assert ids.count("py-spooled-1") == 1


def test_without_a_spool_a_record_while_the_daemon_is_down_is_unavailable(
        daemon: Regularsd, options: dict[str, Any]) -> None:
    with regulars.Client(options) as client:
        assert client.hints({"customer": card("4000301")}).known is False
        assert daemon.stop() == 0
        with pytest.raises(regulars.UnavailableError) as caught:
            client.record(purchase(card("4000301"), "oat-milk"))
    assert caught.value.status == regulars.Status.UNAVAILABLE
    assert caught.value.status_name == "REGULARS_UNAVAILABLE"
