"""The Customers page in a real browser: a customer looked up by identifier (sent only in a POST
body), their timeline equal to the admin API's, their record exported, and an erasure that gives a
receipt, against a regularsd of its own so the erasure leaves the other tests' store alone."""
import json

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from conftest import demo_daemon
from test_dashboard import open_from_navigation, session_cookie, wait, wait_for_ready

SARA = ("card", "4000123")
WALK_IN = ("phone", "+44 7700 900456")


@pytest.fixture(scope="module")
def shop():
    yield from demo_daemon()


def api_journey(daemon, kind, value):
    status, _, body = daemon.request("POST", "/v1/journey", json.dumps({"customer": {"kind": kind, "value": value}}),
                                     {"Authorization": "Bearer " + daemon.owner_token, "Content-Type": "application/json"})
    return status, json.loads(body)


def look_up(browser, kind, value):
    Select(browser.find_element(By.ID, "kind")).select_by_value(kind)
    field = browser.find_element(By.ID, "value")
    field.clear()
    field.send_keys(value)
    browser.execute_script("document.body.dataset.ready = 'waiting'")  # set again by the page when it has answered
    browser.find_element(By.CSS_SELECTOR, "#lookup button").click()
    wait_for_ready(browser)


def open_customers(browser, daemon):
    open_from_navigation(browser, daemon, "/dashboard/journey")


def test_look_up_shows_the_timeline_the_api_has_and_exports_the_record(shop, browser, artefacts):
    open_customers(browser, shop)
    look_up(browser, *SARA)
    wait(browser, lambda b: b.find_element(By.ID, "result").is_displayed())
    status, journey = api_journey(shop, *SARA)
    assert status == 200
    rows = browser.find_elements(By.CSS_SELECTOR, "#steps tbody tr")
    assert [r.get_attribute("data-type") for r in rows] == [s["type"] for s in journey["steps"]]
    assert "purchase" in [s["type"] for s in journey["steps"]]
    browser.save_screenshot(str(artefacts / "journey.png"))
    record = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "Page.post('/dashboard/api/export', {kind: 'card', value: '4000123'}).then(done, e => done(String(e)));")
    assert isinstance(record, dict) and len(record["events"]) == len(journey["steps"]), record

    look_up(browser, "card", "9999999")
    status_line = wait(browser, EC.visibility_of_element_located((By.ID, "status")))
    assert "No customer has that identifier" in status_line.text
    assert not browser.find_element(By.ID, "result").is_displayed()


def test_erasure_from_the_page_gives_a_receipt_and_leaves_no_identifier_anywhere(shop, browser, artefacts):
    open_customers(browser, shop)
    look_up(browser, *WALK_IN)
    wait(browser, lambda b: b.find_element(By.ID, "result").is_displayed())
    browser.find_element(By.ID, "erase").click()
    wait(browser, EC.alert_is_present()).accept()
    receipt = wait(browser, EC.visibility_of_element_located((By.ID, "receipt-id"))).text
    assert receipt.startswith("Receipt ")
    receipt_id = receipt.removeprefix("Receipt ")
    assert any(a["action"] == "erase" and a["target"] == receipt_id for a in shop.admin_api("/v1/audit?limit=20")["items"])
    status, _ = api_journey(shop, *WALK_IN)
    assert status == 404, "the customer is gone"
    browser.save_screenshot(str(artefacts / "journey-erased.png"))

    # The identifiers went only in POST bodies: no URL the browser loaded, no cookie, no log line.
    urls = browser.execute_script("return performance.getEntries().map(e => e.name)")
    cookies = json.dumps(browser.get_cookies())
    log = shop.log_path.read_text()
    for raw in ("4000123", "900456", "7700 900456", "+44"):
        assert not any(raw in u for u in urls), urls
        assert raw not in cookies and raw not in log
    assert session_cookie(browser) is not None
