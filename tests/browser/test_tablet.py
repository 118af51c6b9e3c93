"""The dashboard on a tablet-sized screen and with the keyboard alone, in a real browser: no page
scrolls sideways at 768 × 1024, in English or Persian, and the keyboard reaches every link of the
navigation, the language menu and sign-out, and signs out."""
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC

from test_accessibility import SIGNED_IN_PAGES
from test_dashboard import session_cookie, sign_in, wait, wait_for_ready, wait_for_today


@pytest.mark.parametrize("locale", ["en", "fa"])
def test_no_page_scrolls_sideways_on_a_tablet(daemon, browser, artefacts, locale):
    browser.set_window_size(768, 1024)
    sign_in(browser, daemon, daemon.owner_token)
    wait_for_today(browser)
    browser.execute_script("localStorage.setItem('regulars.locale', arguments[0])", locale)
    for path in SIGNED_IN_PAGES:
        browser.get(daemon.url(path))
        wait_for_ready(browser)
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} in {locale} is {overflow} px wider than a 768 px screen"
    browser.get(daemon.url("/dashboard/"))
    wait_for_ready(browser)
    browser.save_screenshot(str(artefacts / f"tablet-{locale}-today.png"))


def test_the_keyboard_reaches_the_navigation_and_signs_out(daemon, browser):
    sign_in(browser, daemon, daemon.owner_token)
    wait_for_today(browser)
    wanted = {a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "nav a")}
    reached, body = set(), browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    for _ in range(40):  # Tab through the header: each link, the language menu, then sign-out
        active = browser.switch_to.active_element
        if active.tag_name == "a":
            reached.add(active.get_attribute("href"))
        if active.get_attribute("id") == "sign-out":
            break
        active.send_keys(Keys.TAB)
    assert reached >= wanted, wanted - reached
    assert browser.switch_to.active_element.get_attribute("id") == "sign-out"
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    wait(browser, EC.url_contains("/dashboard/login"))
    assert session_cookie(browser) is None
