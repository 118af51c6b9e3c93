"""Every dashboard page checked by axe-core against WCAG 2.1 A and AA in a real browser: the
sign-in and link pages, each signed-in page as it loads, and the pages that show more after an
action (a customer's timeline, a dry run), on the shared demo store, which nothing here changes;
then the pages with what the demo store lacks (answers, ideas, a sign-in error, a new lane token,
an erasure receipt) on a regularsd of this module's own. axe.min.js is a pinned axe-core release
that packaging/setup.sh test fetches from the npm registry and checks; ctest names it in
REGULARS_AXE_JS (tests/browser/CMakeLists.txt)."""
import os
import re
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from conftest import REPO, chromium, demo_daemon, run_till
from test_dashboard import sign_in, wait, wait_for_ready, wait_for_today
from test_journey import SARA, look_up

WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

# The signed-in pages: every name daemon/dashboard/dashboard.cpp's page_name() serves.
SIGNED_IN_PAGES = ["/dashboard/", "/dashboard/satisfaction", "/dashboard/followups", "/dashboard/ideas",
                   "/dashboard/gestures", "/dashboard/journey", "/dashboard/lanes", "/dashboard/chain"]


def test_every_signed_in_page_is_checked():
    # A page added to page_name() without a line above would go unchecked.
    source = (REPO / "daemon" / "dashboard" / "dashboard.cpp").read_text()
    body = re.search(r"page_name\(std::string_view rest\) \{(.*?)\n  \}", source, re.S).group(1)
    served = {"/dashboard" + route for route in re.findall(r'rest == "(/[a-z_]*)"', body)}
    assert served == set(SIGNED_IN_PAGES), served ^ set(SIGNED_IN_PAGES)


@pytest.fixture(scope="session")
def axe_source():
    path = os.environ.get("REGULARS_AXE_JS")
    if not path:
        pytest.fail("REGULARS_AXE_JS is not set: run these tests through ctest (tests/browser/CMakeLists.txt sets it)",
                    pytrace=False)
    if not Path(path).is_file():
        pytest.fail(f"axe-core is missing: no {path}. Run packaging/setup.sh test (it fetches the pinned axe-core "
                    f"from the npm registry and checks it), or point REGULARS_AXE_JS at axe.min.js.", pytrace=False)
    return Path(path).read_text(encoding="utf-8")


def axe_violations(browser, axe_source):
    """axe-core's WCAG 2.1 A and AA violations in the page as it is now."""
    # execute_script runs through the DevTools protocol, which the page's Content-Security-Policy
    # (script-src 'self') does not govern; the policy the server sends stays as it is.
    if not browser.execute_script("return typeof window.axe === 'object'"):
        browser.execute_script(axe_source)
    answer = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})"
        ".then(r => done({violations: r.violations, version: axe.version}), e => done({error: String(e && e.stack || e)}));",
        WCAG_21_AA)
    assert "error" not in answer, f"axe.run failed: {answer['error']}"
    return answer["version"], answer["violations"]


def report(version, violations):
    lines = [f"axe-core {version}:"]
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} — {v['helpUrl']}")
        for node in v["nodes"]:
            lines.append(f"    at {' '.join(map(str, node['target']))}: {node.get('failureSummary', '').replace(chr(10), ' ')}")
    return "\n".join(lines)


def assert_accessible(browser, axe_source, what):
    version, violations = axe_violations(browser, axe_source)
    assert not violations, f"{len(violations)} WCAG 2.1 AA violations on {what}, {report(version, violations)}"


def signed_in_browser(daemon):
    """One Chromium signed in to `daemon` for a module's tests, each of which loads its own page."""
    driver = chromium()
    try:
        sign_in(driver, daemon, daemon.owner_token)
        wait_for_today(driver)
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def signed_in(daemon):
    yield from signed_in_browser(daemon)


def test_sign_in_page(daemon, browser, axe_source):
    browser.get(daemon.url("/dashboard/login"))
    wait(browser, lambda b: b.execute_script("return document.querySelector('h1').textContent") != "")
    assert_accessible(browser, axe_source, "the sign-in page")


def test_link_page_without_its_code(daemon, browser, axe_source):
    # With a whole code the page posts it at once and is gone; what a person reads there is this.
    browser.get(daemon.url("/dashboard/link"))
    wait(browser, EC.visibility_of_element_located((By.ID, "missing")))
    assert_accessible(browser, axe_source, "the link page")


@pytest.mark.parametrize("path", SIGNED_IN_PAGES)
def test_signed_in_page(daemon, signed_in, axe_source, path):
    signed_in.get(daemon.url(path))
    wait_for_ready(signed_in)
    assert_accessible(signed_in, axe_source, path)


@pytest.mark.parametrize("locale", ["fa", "ar"])
@pytest.mark.parametrize("path", SIGNED_IN_PAGES)
def test_signed_in_page_right_to_left(daemon, signed_in, axe_source, path, locale):
    # The same pages in Persian and Arabic: right to left, other scripts and digits, own texts.
    signed_in.get(daemon.url(path))
    signed_in.execute_script("localStorage.setItem('regulars.locale', arguments[0])", locale)
    signed_in.refresh()
    wait_for_ready(signed_in)
    assert signed_in.execute_script("return document.documentElement.lang") == locale
    try:
        assert_accessible(signed_in, axe_source, f"{path} in {locale}")
    finally:
        signed_in.execute_script("localStorage.removeItem('regulars.locale')")


def test_journey_page_with_a_timeline(daemon, signed_in, axe_source):
    signed_in.get(daemon.url("/dashboard/journey"))
    wait_for_ready(signed_in)
    look_up(signed_in, *SARA)
    wait(signed_in, lambda b: b.find_element(By.ID, "result").is_displayed())
    assert_accessible(signed_in, axe_source, "/dashboard/journey with Sara's timeline")


def test_gestures_page_with_a_dry_run(daemon, signed_in, axe_source):
    signed_in.get(daemon.url("/dashboard/gestures"))
    wait_for_ready(signed_in)
    for field, text in (("f-id", "axe-check"), ("f-message-en", "Hello, {name|friend}!")):
        signed_in.find_element(By.ID, field).send_keys(text)
        wait_for_ready(signed_in)
    signed_in.execute_script("document.body.dataset.ready = 'waiting'")  # set again by the page when it has answered
    signed_in.find_element(By.ID, "dry-run").click()
    wait(signed_in, lambda b: b.find_element(By.ID, "dry-result").is_displayed())
    wait_for_ready(signed_in)
    assert signed_in.find_elements(By.CSS_SELECTOR, "#dry-figures li"), "the dry run shows its figures"
    assert_accessible(signed_in, axe_source, "/dashboard/gestures after a dry run")


@pytest.fixture(scope="module")
def lively():
    """The demo store with what it lacks: NPS and CSAT answers (one unhappy, with a comment), and
    staff ideas; this module's own, so its changes reach no other test."""
    for d in demo_daemon():
        run_till(d, "customer card 4000123\nfeedback --nps 9\nfeedback --nps 3 --reason long_queue The queue was long\n")
        run_till(d, "customer card 4000456\nfeedback --csat 5 --reason friendly_staff Lovely chat at the till\n", cashier="c-08")
        run_till(d, "idea Put the paper bags by lane 1\nidea --kind problem The scanner on lane 2 beeps twice\n")
        yield d


@pytest.fixture(scope="module")
def lively_signed_in(lively):
    yield from signed_in_browser(lively)


def test_sign_in_page_with_an_error(lively, browser, axe_source):
    sign_in(browser, lively, "0" * 64)
    wait(browser, EC.visibility_of_element_located((By.ID, "error")))
    assert_accessible(browser, axe_source, "the sign-in page with a wrong token's error")


@pytest.mark.parametrize("path", ["/dashboard/", "/dashboard/satisfaction", "/dashboard/followups", "/dashboard/ideas"])
def test_signed_in_page_with_answers_and_ideas(lively, lively_signed_in, axe_source, path):
    browser = lively_signed_in
    browser.get(lively.url(path))
    wait_for_ready(browser)
    if path == "/dashboard/followups":
        assert browser.find_elements(By.CSS_SELECTOR, "#queue > li"), "the unhappy answer is in the queue"
    if path == "/dashboard/ideas":
        assert browser.find_elements(By.CSS_SELECTOR, "#ideas > li"), "the ideas are listed"
    assert_accessible(browser, axe_source, f"{path} with answers and ideas")


def test_lanes_page_showing_a_new_token(lively, lively_signed_in, axe_source):
    browser = lively_signed_in
    browser.get(lively.url("/dashboard/lanes"))
    wait_for_ready(browser)
    browser.find_element(By.ID, "terminal").send_keys("lane-axe")
    browser.find_element(By.CSS_SELECTOR, "#issue button").click()
    wait(browser, lambda b: b.find_element(By.ID, "issued").is_displayed())
    wait_for_ready(browser)
    assert_accessible(browser, axe_source, "/dashboard/lanes showing a new token")


def test_journey_page_with_an_erasure_receipt(lively, lively_signed_in, axe_source):
    browser = lively_signed_in
    browser.get(lively.url("/dashboard/journey"))
    wait_for_ready(browser)
    look_up(browser, "card", "9999999")
    wait(browser, EC.visibility_of_element_located((By.ID, "status")))
    assert_accessible(browser, axe_source, "/dashboard/journey saying no customer has that identifier")
    look_up(browser, "card", "4000456")
    wait(browser, lambda b: b.find_element(By.ID, "result").is_displayed())
    browser.find_element(By.ID, "erase").click()
    wait(browser, EC.alert_is_present()).accept()
    wait(browser, EC.visibility_of_element_located((By.ID, "receipt-id")))
    wait_for_ready(browser)
    assert_accessible(browser, axe_source, "/dashboard/journey with an erasure receipt")
