"""The owner's dashboard in a real browser against a real regularsd seeded with the demo store.

Each test saves a screenshot of the pages it reaches under the build folder
(REGULARS_BROWSER_ARTEFACTS), for a reviewer to look at."""
import json
import time
import urllib.parse

from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import one_time_link

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def wait(browser, condition, timeout=15):
    # A page being replaced by the next one leaves stale elements behind: look again. Chromedriver
    # reports some of those as a plain WebDriverException ("Node with given id does not belong to
    # the document"); a lasting one still ends the wait, as a timeout.
    ignored = (NoSuchElementException, StaleElementReferenceException, WebDriverException)
    return WebDriverWait(browser, timeout, ignored_exceptions=ignored).until(condition)


def path_of(browser):
    return urllib.parse.urlparse(browser.current_url).path


def session_cookie(browser):
    return next((c for c in browser.get_cookies() if c["name"] == "regulars_session"), None)


def sign_in(browser, daemon, token):
    browser.get(daemon.url("/dashboard/"))
    wait(browser, EC.url_contains("/dashboard/login"))
    field = wait(browser, EC.element_to_be_clickable((By.ID, "token")))
    field.send_keys(token)
    browser.find_element(By.ID, "sign-in").click()


def wait_for_ready(browser):
    # Read in the page itself: no element handle that the next page could make stale.
    wait(browser, lambda b: b.execute_script("return document.body && document.body.dataset.ready") == "true")


def wait_for_today(browser):
    wait_for_ready(browser)


def open_from_navigation(browser, daemon, path):
    """Signs in, then opens `path` from the navigation, as the owner would, and waits for it."""
    sign_in(browser, daemon, daemon.owner_token)
    wait_for_today(browser)
    browser.find_element(By.CSS_SELECTOR, f'nav a[href="{path}"]').click()
    wait(browser, EC.url_contains(path))
    wait_for_ready(browser)


def signed_in_posts(browser):
    """Headers for a form post with the browser's session: without, and with, its CSRF token."""
    cookie = {**FORM, "Cookie": "regulars_session=" + session_cookie(browser)["value"]}
    return cookie, {**cookie, "X-CSRF-Token": browser.execute_script("return document.getElementById('csrf').value")}


def shown_error(browser):
    error = wait(browser, EC.visibility_of_element_located((By.ID, "error")))
    return error.text


def test_wrong_token_does_not_sign_in(daemon, browser, artefacts):
    sign_in(browser, daemon, "0" * 64)
    assert path_of(browser) == "/dashboard/login"
    assert "not the owner token" in shown_error(browser)
    assert session_cookie(browser) is None
    browser.save_screenshot(str(artefacts / "login-wrong-token.png"))
    status, _, _ = daemon.request("POST", "/dashboard/login", "token=not-it", FORM)
    assert status in (401, 429)


def test_owner_token_pasted_with_spaces_around_it_signs_in(daemon):
    status, headers, _ = daemon.request("POST", "/dashboard/login", "token=+" + daemon.owner_token + "++", FORM)
    assert status == 303, status
    assert headers["Location"] == "/dashboard/"


def test_owner_token_signs_in_with_a_safe_cookie(daemon, browser, artefacts):
    browser.get(daemon.url("/dashboard/login"))
    wait(browser, EC.visibility_of_element_located((By.ID, "token")))
    browser.save_screenshot(str(artefacts / "login.png"))
    sign_in(browser, daemon, daemon.owner_token)
    wait_for_today(browser)
    assert path_of(browser) == "/dashboard/"
    cookie = session_cookie(browser)
    assert cookie is not None
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/dashboard"
    assert 7.9 * 3600 < cookie["expiry"] - time.time() <= 8 * 3600 + 5
    # Script cannot read the session (HttpOnly).
    assert "regulars_session" not in browser.execute_script("return document.cookie")
    browser.save_screenshot(str(artefacts / "today.png"))


def test_pages_forbid_inline_script_and_framing(daemon):
    for path in ("/dashboard/login", "/dashboard/link", "/dashboard/assets/today.js"):
        status, headers, _ = daemon.request("GET", path)
        assert status == 200, path
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp, csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"


def test_one_time_link_works_once(daemon, browser, artefacts):
    link = one_time_link(daemon)
    browser.get(link)
    wait_for_today(browser)
    assert path_of(browser) == "/dashboard/"
    assert session_cookie(browser) is not None
    assert "#" not in browser.current_url
    browser.delete_all_cookies()
    browser.get(link)
    assert "used or has expired" in shown_error(browser)
    assert path_of(browser) == "/dashboard/link"
    assert session_cookie(browser) is None
    browser.save_screenshot(str(artefacts / "link-spent.png"))


def test_a_form_may_carry_its_csrf_token_beside_its_other_fields(daemon, browser):
    sign_in(browser, daemon, daemon.owner_token)
    wait_for_today(browser)
    cookie, with_header = signed_in_posts(browser)
    token = with_header["X-CSRF-Token"]
    status, _, body = daemon.request("POST", "/dashboard/api/followup",
                                     "feedback=fb-none&state=contacted&csrf=" + token, cookie)
    assert status != 403, body
    status, _, body = daemon.request("POST", "/dashboard/api/followup",
                                     "feedback=fb-none&state=contacted&csrf=" + "a" * 64, cookie)
    assert status == 403 and json.loads(body)["error"]["code"] == "csrf", body


def test_post_without_csrf_token_is_refused_and_changes_nothing(daemon, browser):
    sign_in(browser, daemon, daemon.owner_token)
    wait_for_today(browser)
    refused = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch('/dashboard/sign-out', {method: 'POST', credentials: 'same-origin'})"
        ".then(r => r.json().then(b => done([r.status, b.error.code])));")
    assert refused == [403, "csrf"]
    cookie = {"Cookie": "regulars_session=" + session_cookie(browser)["value"]}
    status, _, body = daemon.request("POST", "/dashboard/sign-out", "csrf=" + "a" * 64, {**FORM, **cookie})
    assert status == 403 and json.loads(body)["error"]["code"] == "csrf"
    status, _, _ = daemon.request("POST", "/dashboard/sign-out", "", cookie)
    assert status == 403
    status, _, _ = daemon.request("GET", "/dashboard/api/today", headers=cookie)
    assert status == 200, "the refused posts must leave the session open"
    browser.refresh()
    wait_for_today(browser)


def figure(browser, element_id):
    return browser.find_element(By.ID, element_id).get_attribute("data-value")


def number_or_empty(value):
    return "" if value is None else str(value)


def test_today_figures_equal_the_admin_api(daemon, browser, artefacts):
    sign_in(browser, daemon, daemon.owner_token)
    wait_for_today(browser)
    api = daemon.admin_api("/v1/today")
    # The demo's checkout today: Sara and Leila come back, a new customer joins; Leila accepts
    # the chips gesture. No feedback in the demo, so NPS and CSAT say how to get some.
    assert api["visits"]["total"] == 3 and api["visits"]["returning"] == 2, api
    assert api["offers"]["made"] >= 1 and api["offers"]["accepted"] >= 1, api
    expected = {
        "visits": api["visits"]["total"],
        "returning-share": api["visits"]["returning_share"],
        "offers-made": api["offers"]["made"],
        "offers-accepted": api["offers"]["accepted"],
        "nps": api["satisfaction"]["nps"],
        "csat": api["satisfaction"]["csat"],
        "followups-open": api["followups"]["open"],
        "ideas-new": api["ideas"]["new"],
    }
    for element_id, value in expected.items():
        assert figure(browser, element_id) == number_or_empty(value), element_id
    assert browser.find_element(By.ID, "visits").text == str(api["visits"]["total"])
    assert browser.find_element(By.ID, "returning-share").text == f"{api['visits']['returning_share']:g}%"
    assert api["day"] in browser.find_element(By.ID, "title").text
    nps_hint = browser.find_element(By.CSS_SELECTOR, "#card-nps .empty")
    assert nps_hint.is_displayed() and "NPS" in nps_hint.text
    browser.save_screenshot(str(artefacts / "today-figures.png"))
    log = daemon.log_path.read_text()
    for raw in ("4000123", "4000456", "7700 900456", "7700900456"):
        assert raw not in log, "a customer identifier reached the daemon's log"


def test_sign_out_ends_the_session(daemon, browser, artefacts):
    sign_in(browser, daemon, daemon.owner_token)
    wait_for_today(browser)
    old = session_cookie(browser)["value"]
    browser.find_element(By.ID, "sign-out").click()
    wait(browser, EC.url_contains("/dashboard/login"))
    assert session_cookie(browser) is None
    status, _, _ = daemon.request("GET", "/dashboard/api/today", headers={"Cookie": "regulars_session=" + old})
    assert status == 401
    browser.get(daemon.url("/dashboard/"))
    wait(browser, EC.url_contains("/dashboard/login"))
    browser.save_screenshot(str(artefacts / "signed-out.png"))
    actions = [item["action"] for item in daemon.admin_api("/v1/audit?limit=50")["items"]]
    assert "dashboard_sign_out" in actions and "dashboard_sign_in" in actions


def test_sign_out_all_ends_every_session(daemon, browser):
    sign_in(browser, daemon, daemon.owner_token)
    wait_for_today(browser)
    cookie = {"Cookie": "regulars_session=" + session_cookie(browser)["value"]}
    assert "signed out" in daemon.regularsctl("dashboard", "--sign-out-all")
    status, _, _ = daemon.request("GET", "/dashboard/api/today", headers=cookie)
    assert status == 401


def test_lane_token_cannot_sign_in(daemon, browser, artefacts):
    issued = json.loads(daemon.regularsctl("tokens", "issue", "--terminal", "lane-9", "--json"))
    sign_in(browser, daemon, issued["token"])
    assert "Lane tokens do not open" in shown_error(browser)
    assert path_of(browser) == "/dashboard/login"
    assert session_cookie(browser) is None
    browser.save_screenshot(str(artefacts / "login-lane-token.png"))


def test_wrong_tokens_are_rate_limited_but_never_keep_the_owner_out(daemon):
    # Every process on this machine is 127.0.0.1 to the dashboard: wrong tokens are slowed down,
    # but the right one still signs in, and starts the count again.
    for _ in range(12):
        status, headers, _ = daemon.request("POST", "/dashboard/login", "token=guess", FORM)
        if status == 429:
            break
        assert status == 401
    assert status == 429, "wrong tokens were never slowed down"
    assert int(headers["Retry-After"]) >= 1
    status, headers, _ = daemon.request("POST", "/dashboard/login", "token=" + daemon.owner_token, FORM)
    assert status == 303 and headers["Location"] == "/dashboard/", "the owner was kept out by someone else's guesses"
    status, _, _ = daemon.request("POST", "/dashboard/login", "token=guess", FORM)
    assert status == 401, "a right token starts the count again"


def test_malformed_requests_get_clear_errors(daemon):
    status, _, body = daemon.request("POST", "/dashboard/login", "token=x&colour=red", FORM)
    assert status == 400 and 'data-error="bad_form"' in body
    status, _, _ = daemon.request("POST", "/dashboard/login", json.dumps({"token": "x"}), {"Content-Type": "application/json"})
    assert status == 400
    status, _, _ = daemon.request("POST", "/dashboard/login", "token=" + "x" * 20000, FORM)
    assert status == 400, "a field over its size is refused by name"
    status, _, _ = daemon.request("POST", "/dashboard/login", "token=" + "x" * 300000, FORM)
    assert status == 413, "a body over 256 KiB is refused before it is read"
    status, _, body = daemon.request("POST", "/dashboard/login", "token=x", {**FORM, "Origin": "http://evil.example"})
    assert status == 403 and json.loads(body)["error"]["code"] == "cross_site"
    status, _, _ = daemon.request("GET", "/dashboard/api/today", headers={"Cookie": "regulars_session=../../etc"})
    assert status == 401
    status, _, _ = daemon.request("GET", "/dashboard/assets/../today.html")
    assert status == 404
