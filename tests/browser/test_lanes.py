"""The Lanes page in a real browser: a lane token issued through the page is shown once and works
nowhere near the dashboard, then revoked through the page; both are in the audit trail."""
import re

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from test_dashboard import open_from_navigation, wait, wait_for_ready


def open_lanes(browser, daemon):
    open_from_navigation(browser, daemon, "/dashboard/lanes")


def test_a_token_is_issued_shown_once_and_revoked(daemon, browser, artefacts):
    open_lanes(browser, daemon)
    browser.find_element(By.ID, "terminal").send_keys("lane-tablet-3")
    browser.find_element(By.CSS_SELECTOR, "#issue button").click()
    wait(browser, lambda b: b.find_element(By.ID, "issued").is_displayed())
    wait_for_ready(browser)
    token = browser.find_element(By.ID, "new-token").text
    listed = [t for t in daemon.admin_api("/v1/tokens")["tokens"] if t["terminal"] == "lane-tablet-3"]
    assert len(listed) == 1 and listed[0]["revoked"] is None, listed
    assert re.fullmatch(r"\S{40,}", token), token
    row = browser.find_element(By.CSS_SELECTOR, f'#tokens tr[data-token-id="{listed[0]["token_id"]}"]')
    assert "in force" in row.text
    browser.save_screenshot(str(artefacts / "lanes-issued.png"))
    # Shown once: a reload has the list, never the token.
    browser.refresh()
    wait_for_ready(browser)
    assert token not in browser.page_source
    assert not browser.find_element(By.ID, "issued").is_displayed()
    # The token is a lane's, not the owner's: it opens no dashboard session.
    status, _, _ = daemon.request("POST", "/dashboard/login", "token=" + token,
                                  {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 401

    browser.find_element(By.CSS_SELECTOR, f'#tokens tr[data-token-id="{listed[0]["token_id"]}"] button.revoke').click()
    wait(browser, EC.alert_is_present()).accept()
    wait(browser, lambda b: "revoked" in b.find_element(By.CSS_SELECTOR, f'#tokens tr[data-token-id="{listed[0]["token_id"]}"]').text)
    revoked = next(t for t in daemon.admin_api("/v1/tokens")["tokens"] if t["token_id"] == listed[0]["token_id"])
    assert revoked["revoked"] is not None
    actions = [(a["action"], a["actor"].split(":")[0]) for a in daemon.admin_api("/v1/audit?limit=30")["items"]]
    assert ("token_issue", "dashboard") in actions and ("token_revoke", "dashboard") in actions, actions
    browser.save_screenshot(str(artefacts / "lanes-revoked.png"))
