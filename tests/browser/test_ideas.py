"""The Staff ideas page in a real browser: what cashiers flagged from the tills, newest first, and
the owner marking them seen and done, against a regularsd of its own (the demo store plus two
ideas from a till)."""
import json

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from conftest import demo_daemon, run_till
from test_dashboard import figure, sign_in, signed_in_posts, wait, wait_for_ready, wait_for_today

PROBLEM = 'Scale on lane 2 reads 20 g heavy <script>document.title="x"</script>'


@pytest.fixture(scope="module")
def flagged():
    for d in demo_daemon():
        run_till(d, "idea Put the paper bags by lane 1\n" + f"idea --kind problem {PROBLEM}\n")
        yield d


def shown_ideas(browser):
    return [(li.get_attribute("data-idea"), li.find_element(By.CSS_SELECTOR, ".text").text)
            for li in browser.find_elements(By.CSS_SELECTOR, "#ideas > li")]


def test_new_ideas_are_listed_as_the_api_has_them_and_marked_seen_then_done(flagged, browser, artefacts):
    sign_in(browser, flagged, flagged.owner_token)
    wait_for_today(browser)
    assert figure(browser, "ideas-new") == "2"
    browser.find_element(By.ID, "ideas-label").click()  # Today's figure links to the page
    wait(browser, EC.url_contains("/dashboard/ideas"))
    wait_for_ready(browser)
    api = flagged.admin_api("/v1/ideas?state=new")["items"]
    assert [i["text"] for i in api] == [PROBLEM, "Put the paper bags by lane 1"], api  # newest first
    assert shown_ideas(browser) == [(i["idea"], i["text"]) for i in api]  # the script is text, never run
    assert browser.execute_script("return document.title") != "x"
    first = browser.find_element(By.CSS_SELECTOR, "#ideas > li")
    assert first.find_element(By.CSS_SELECTOR, ".kind").text == "Problem"
    assert "from cashier c-07" in first.find_element(By.CSS_SELECTOR, ".who").text
    browser.save_screenshot(str(artefacts / "ideas-new.png"))

    problem = api[0]["idea"]
    first.find_element(By.CSS_SELECTOR, 'button[value="seen"]').click()
    wait(browser, lambda b: len(b.find_elements(By.CSS_SELECTOR, "#ideas > li")) == 1)
    wait_for_ready(browser)
    seen = flagged.admin_api("/v1/ideas?state=seen")["items"]
    assert [i["idea"] for i in seen] == [problem] and seen[0]["reviewed_by"].startswith("dashboard:"), seen
    audit = flagged.admin_api("/v1/audit?limit=20")["items"]
    assert any(a["action"] == "idea_seen" and a["target"] == problem and a["actor"] == seen[0]["reviewed_by"] for a in audit)

    browser.find_element(By.CSS_SELECTOR, '#state option[value="seen"]').click()
    wait(browser, lambda b: [i for i, _ in shown_ideas(b)] == [problem])
    browser.find_element(By.CSS_SELECTOR, '#ideas > li button[value="done"]').click()
    wait(browser, lambda b: b.find_element(By.ID, "empty").is_displayed())
    assert [i["idea"] for i in flagged.admin_api("/v1/ideas?state=done")["items"]] == [problem]
    assert flagged.admin_api("/v1/today")["ideas"]["new"] == 1
    browser.save_screenshot(str(artefacts / "ideas-done.png"))


def test_marking_without_the_csrf_token_or_with_a_bad_state_changes_nothing(flagged, browser):
    sign_in(browser, flagged, flagged.owner_token)
    wait_for_today(browser)
    without_token, with_token = signed_in_posts(browser)
    before = flagged.admin_api("/v1/ideas?state=all")
    idea = before["items"][-1]["idea"]
    status, _, body = flagged.request("POST", "/dashboard/api/idea", f"idea={idea}&state=done", without_token)
    assert status == 403 and json.loads(body)["error"]["code"] == "csrf"
    status, _, body = flagged.request("POST", "/dashboard/api/idea", f"idea={idea}&state=later", with_token)
    assert status == 400 and json.loads(body)["error"]["field"] == "state", body
    status, _, body = flagged.request("POST", "/dashboard/api/idea", "idea=no-such-idea&state=done", with_token)
    assert status == 409 and "regularsctl ideas" in json.loads(body)["error"]["message"], body
    assert flagged.admin_api("/v1/ideas?state=all") == before
