"""The Gestures page in a real browser: a rule built with the form (no JSON), a wrong field named
in the page as the owner types, a dry run equal to the admin API's, the saved rule then offered by
a real till, a rule switched off, and the ROI chart drawn, against a regularsd of its own."""
import json
import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from conftest import demo_daemon, run_till
from test_dashboard import open_from_navigation, signed_in_posts, wait, wait_for_ready
from test_satisfaction import chart_data

WELCOME = "Welcome back, {name|friend}! Coffee is on us."


@pytest.fixture(scope="module")
def shop():
    yield from demo_daemon()


def open_gestures(browser, daemon):
    open_from_navigation(browser, daemon, "/dashboard/gestures")


def type_into(browser, element, text):
    element.clear()
    element.send_keys(text)
    wait_for_ready(browser)  # the page has checked the rule again


def verdict(browser):
    return browser.find_element(By.ID, "verdict").text


def admin_post(daemon, path, body):
    status, _, text = daemon.request("POST", path, json.dumps(body),
                                     {"Authorization": "Bearer " + daemon.owner_token, "Content-Type": "application/json"})
    return status, json.loads(text)


def test_a_rule_built_in_the_form_is_checked_dry_run_saved_and_offered_by_the_till(shop, browser, artefacts):
    open_gestures(browser, shop)
    assert [tr.get_attribute("data-rule") for tr in browser.find_elements(By.CSS_SELECTOR, "#rules tbody tr")] == ["chips-for-the-kids"]
    type_into(browser, browser.find_element(By.ID, "f-id"), "welcome-back")
    Select(browser.find_element(By.CSS_SELECTOR, "#conditions .condition-kind")).select_by_value("segment")
    Select(browser.find_element(By.CSS_SELECTOR, '#conditions [data-name="segment"]')).select_by_value("regular")
    type_into(browser, browser.find_element(By.ID, "f-message-en"), WELCOME)
    type_into(browser, browser.find_element(By.ID, "f-holdout"), "0")

    # A wrong field is named in the page, by the same check as regularsctl gestures validate.
    per_day = browser.find_element(By.CSS_SELECTOR, '[data-limit="per_day"]')
    type_into(browser, per_day, "2000000")
    wait(browser, lambda b: "Offers per day" in verdict(b))
    assert "must be an integer from 0 to 1000000" in verdict(browser)
    assert per_day.get_attribute("aria-invalid") == "true"
    assert browser.find_element(By.ID, "verdict").get_attribute("data-field") == "rule.limits.per_day"
    browser.save_screenshot(str(artefacts / "gestures-invalid.png"))
    type_into(browser, per_day, "20")
    wait(browser, lambda b: verdict(b).startswith("The rule is valid"))
    assert per_day.get_attribute("aria-invalid") is None

    # The dry run the page shows is the admin API's for the same rule.
    rule = {"id": "welcome-back", "priority": 50, "when": {"all": [{"segment": "regular"}]},
            "gesture": {"kind": "message", "message": {"en": WELCOME}}, "limits": {"per_day": 20}, "holdout": 0}
    days = browser.find_element(By.ID, "dry-days")
    days.clear()
    days.send_keys("90")
    browser.find_element(By.ID, "dry-run").click()
    wait(browser, lambda b: b.find_element(By.ID, "dry-result").is_displayed())
    wait_for_ready(browser)
    status, api = admin_post(shop, "/v1/gestures/dry-run", {"rule": rule, "days": 90})
    assert status == 200, api
    shown = {li.get_attribute("data-figure"): int(li.get_attribute("data-value"))
             for li in browser.find_elements(By.CSS_SELECTOR, "#dry-figures li")}
    assert shown == {k: api[k] for k in shown}, (shown, api)
    assert shown["offers"] >= 1, "Sara, a regular, would have had it"
    browser.save_screenshot(str(artefacts / "gestures-dry-run.png"))

    browser.find_element(By.ID, "save").click()
    wait(browser, lambda b: "welcome-back" in [tr.get_attribute("data-rule") for tr in b.find_elements(By.CSS_SELECTOR, "#rules tbody tr")])
    saved = next(r for r in shop.admin_api("/v1/gestures")["rules"] if r["id"] == "welcome-back")
    assert saved["gesture"]["message"]["en"] == WELCOME and saved["limits"]["per_day"] == 20 and saved["holdout"] == 0
    assert any(a["action"] == "gesture_add" and a["actor"].startswith("dashboard:") for a in shop.admin_api("/v1/audit?limit=20")["items"])

    # The till offers it at Sara's next visit; the demo has no name for her, so the rule's own
    # fallback is said.
    out = run_till(shop, "customer card 4000123\n", quiet=False)
    assert "Welcome back, friend! Coffee is on us." in out and 'Gesture rule “welcome-back”' in out, out


def test_rules_switch_off_and_the_roi_chart_is_drawn(shop, browser, artefacts):
    open_gestures(browser, shop)
    row = browser.find_element(By.CSS_SELECTOR, '#rules tr[data-rule="chips-for-the-kids"]')
    row.find_element(By.CSS_SELECTOR, "button.toggle").click()
    wait(browser, lambda b: b.find_element(By.CSS_SELECTOR, '#rules tr[data-rule="chips-for-the-kids"]').get_attribute("data-enabled") == "false")
    assert next(r for r in shop.admin_api("/v1/gestures")["rules"] if r["id"] == "chips-for-the-kids")["enabled"] is False

    # The ROI is a task the page fetches: wait for its charts.
    wait(browser, lambda b: b.execute_script("return !!Chart.getChart(document.getElementById('roi-return_rate'))"))
    Select(browser.find_element(By.ID, "roi-rule")).select_by_value("chips-for-the-kids")
    roi = next(r for r in shop.admin_api("/v1/gestures/roi")["rules"] if r["rule"] == "chips-for-the-kids")
    for metric in ("return_rate", "visits_per_customer", "spend_per_customer"):
        chart = chart_data(browser, f"roi-{metric}")
        assert chart["drawn"], metric
        assert chart["values"] == [roi["difference"][metric]["difference"]]
        assert chart["ranges"] == [roi["difference"][metric]["ci95"]]
    groups = browser.find_element(By.ID, "roi-groups").text
    assert f"Offered: {roi['offered']['customers']} customers" in groups
    assert "too small to tell" in browser.find_element(By.ID, "roi-verdict").text  # the demo's groups are tiny
    browser.execute_script("document.getElementById('roi-rule').scrollIntoView()")
    browser.save_screenshot(str(artefacts / "gestures-roi.png"))


def test_a_dry_run_is_a_task_the_page_fetches_and_only_its_session_reads(shop, browser):
    open_gestures(browser, shop)
    _, with_token = signed_in_posts(browser)
    status, _, body = shop.request("POST", "/dashboard/api/gestures/dry-run", "id=chips-for-the-kids&days=30", with_token)
    assert status == 202, body
    job = json.loads(body)["job"]
    cookie = {"Cookie": with_token["Cookie"]}
    # Another signed-in session cannot read it.
    status, headers, _ = shop.request("POST", "/dashboard/login", "token=" + shop.owner_token,
                                      {"Content-Type": "application/x-www-form-urlencoded"})
    other = {"Cookie": headers["Set-Cookie"].split(";")[0]}
    assert shop.request("GET", f"/dashboard/api/jobs/{job}", headers=other)[0] == 404
    for _ in range(150):
        status, _, body = shop.request("GET", f"/dashboard/api/jobs/{job}", headers=cookie)
        if status != 202:
            break
        time.sleep(0.1)
    assert status == 200, body
    status, api = admin_post(shop, "/v1/gestures/dry-run", {"id": "chips-for-the-kids", "days": 30})
    answer = json.loads(body)
    assert {k: answer[k] for k in ("offers", "customers", "cost")} == {k: api[k] for k in ("offers", "customers", "cost")}
    assert shop.request("GET", f"/dashboard/api/jobs/{job}", headers=cookie)[0] == 404, "a result is read once"
