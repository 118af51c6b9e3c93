"""The Follow-ups page in a real browser: the queue of unhappy customers, oldest first, and marking
one contacted with a note, against a regularsd of its own (the demo store plus one unhappy answer),
so the Today tests keep a store without feedback."""
import json

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from conftest import demo_daemon, run_till
from test_dashboard import sign_in, signed_in_posts, wait, wait_for_ready, wait_for_today

# A comment that would run script if the page wrote it as HTML.
COMMENT = 'Queue was far too long <img src=x onerror="document.title=1">'


@pytest.fixture(scope="module")
def unhappy():
    for d in demo_daemon():
        run_till(d, f"customer card 4000123\nfeedback --nps 3 --reason long_queue {COMMENT}\n")
        yield d


def open_followups(browser, daemon):
    sign_in(browser, daemon, daemon.owner_token)
    wait_for_today(browser)
    browser.find_element(By.CSS_SELECTOR, "#card-followups h2 a").click()  # the figure links to its page
    wait(browser, EC.url_contains("/dashboard/followups"))
    wait_for_ready(browser)


def test_queue_shows_the_unhappy_customer_as_the_api_does(unhappy, browser, artefacts):
    open_followups(browser, unhappy)
    api = unhappy.admin_api("/v1/followups?state=open")["items"]
    assert len(api) == 1 and api[0]["nps"] == 3, api
    items = browser.find_elements(By.CSS_SELECTOR, "#queue > li")
    assert [i.get_attribute("data-feedback") for i in items] == [api[0]["feedback"]]
    item = items[0]
    assert item.find_element(By.CSS_SELECTOR, ".score").text == "NPS answer 3 of 10"
    assert item.find_element(By.CSS_SELECTOR, ".comment").text == COMMENT  # shown as text, never run
    assert item.find_element(By.CSS_SELECTOR, ".reasons").text == "long queue"
    assert f"waiting {api[0]['age_days']} d" == item.find_element(By.CSS_SELECTOR, ".age").text
    assert "cashier c-07" in item.find_element(By.CSS_SELECTOR, ".who").text
    buttons = [b.text for b in item.find_elements(By.CSS_SELECTOR, "button") if b.is_displayed()]
    assert buttons == ["Mark contacted", "Mark resolved"], buttons  # an open item cannot be opened again
    assert item.find_element(By.CSS_SELECTOR, "label span").text == "Note (optional)"
    assert browser.execute_script("return document.title") != "1"
    assert browser.find_elements(By.CSS_SELECTOR, "#queue img") == []
    browser.save_screenshot(str(artefacts / "followups-open.png"))


def test_marking_contacted_with_a_note_moves_it_and_is_audited(unhappy, browser, artefacts):
    open_followups(browser, unhappy)
    feedback = unhappy.admin_api("/v1/followups?state=open")["items"][0]["feedback"]
    item = browser.find_element(By.CSS_SELECTOR, f'#queue > li[data-feedback="{feedback}"]')
    item.find_element(By.NAME, "note").send_keys("Called her; a coupon is waiting at the till")
    item.find_element(By.CSS_SELECTOR, 'button[value="contacted"]').click()
    wait(browser, lambda b: b.find_element(By.ID, "empty").is_displayed())
    wait_for_ready(browser)
    assert browser.find_elements(By.CSS_SELECTOR, "#queue > li") == []
    assert unhappy.admin_api("/v1/followups?state=open")["items"] == []
    moved = unhappy.admin_api("/v1/followups?state=contacted")["items"]
    assert [m["feedback"] for m in moved] == [feedback]
    note = moved[0]["notes"][-1]
    assert note["state"] == "contacted" and note["note"] == "Called her; a coupon is waiting at the till"
    assert note["by"].startswith("dashboard:")
    audit = unhappy.admin_api("/v1/audit?limit=20")["items"]
    entry = next(a for a in audit if a["action"] == "followup_contacted")
    assert entry["actor"] == note["by"] and feedback not in json.dumps(entry)  # erasure must leave no trace here
    # The filter shows it among the contacted, with its history.
    browser.find_element(By.CSS_SELECTOR, '#state option[value="contacted"]').click()
    wait(browser, lambda b: len(b.find_elements(By.CSS_SELECTOR, "#queue > li")) == 1)
    assert "Called her" in browser.find_element(By.CSS_SELECTOR, "#queue .notes").text
    browser.save_screenshot(str(artefacts / "followups-contacted.png"))
    # Resolved from the page, it leaves the command line's queue too.
    assert feedback in unhappy.regularsctl("followups", "--state", "all")
    browser.find_element(By.CSS_SELECTOR, '#queue > li button[value="resolved"]').click()
    wait(browser, lambda b: b.find_element(By.ID, "empty").is_displayed())
    assert feedback not in unhappy.regularsctl("followups")
    assert feedback not in unhappy.regularsctl("followups", "--state", "contacted")
    assert feedback in unhappy.regularsctl("followups", "--state", "resolved")


def test_a_change_without_the_csrf_token_or_with_a_bad_state_changes_nothing(unhappy, browser):
    sign_in(browser, unhappy, unhappy.owner_token)
    wait_for_today(browser)
    without_token, with_token = signed_in_posts(browser)
    before = unhappy.admin_api("/v1/followups?state=all")
    feedback = before["items"][0]["feedback"]
    status, _, body = unhappy.request("POST", "/dashboard/api/followup", f"feedback={feedback}&state=resolved", without_token)
    assert status == 403 and json.loads(body)["error"]["code"] == "csrf"
    status, _, body = unhappy.request("POST", "/dashboard/api/followup", f"feedback={feedback}&state=closed", with_token)
    assert status == 400 and json.loads(body)["error"]["field"] == "state", body
    status, _, body = unhappy.request("POST", "/dashboard/api/followup", f"feedback={feedback}&state=resolved&extra=1",
                                      with_token)
    assert status == 400 and json.loads(body)["error"]["code"] == "bad_form", body
    status, _, body = unhappy.request("POST", "/dashboard/api/followup", "feedback=no-such-feedback&state=resolved", with_token)
    assert status == 409 and "regularsctl followups" in json.loads(body)["error"]["message"], body
    assert unhappy.admin_api("/v1/followups?state=all") == before
