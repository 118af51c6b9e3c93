"""The dashboard in Persian and Arabic, in a real browser: right to left, the locale's own digits,
Persian dates in the Solar Hijri calendar, and a screenshot of every page in Persian."""
import datetime

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from test_dashboard import sign_in, wait, wait_for_ready, wait_for_today

PAGES = ["", "satisfaction", "followups", "ideas", "gestures", "journey", "lanes"]
PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
ARABIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"


def in_digits(number, digits):
    return "".join(digits[int(c)] for c in str(number))


def solar_hijri_year(day):
    # 1 Farvardin falls on 20 or 21 March: before it the Persian year is 622 behind, after it 621.
    return day.year - 621 if (day.month, day.day) >= (3, 21) else day.year - 622


def choose(browser, locale):
    Select(browser.find_element(By.ID, "locale")).select_by_value(locale)
    wait(browser, lambda b: b.execute_script("return document.documentElement.lang") == locale)
    wait_for_ready(browser)


def test_persian_is_right_to_left_with_persian_digits_and_calendar(daemon, browser, artefacts):
    sign_in(browser, daemon, daemon.owner_token)
    wait_for_today(browser)
    choose(browser, "fa")
    assert browser.execute_script("return document.documentElement.dir") == "rtl"
    assert browser.find_element(By.TAG_NAME, "header").value_of_css_property("direction") == "rtl"
    visits = daemon.admin_api("/v1/today")["visits"]["total"]
    assert browser.find_element(By.ID, "visits").text == in_digits(visits, PERSIAN_DIGITS)
    title = browser.find_element(By.ID, "title").text
    today = datetime.datetime.now(datetime.timezone.utc).date()
    assert in_digits(solar_hijri_year(today), PERSIAN_DIGITS) in title, title  # ۱۴۰۵, not 2026
    assert not any(c in "0123456789" for c in title), title
    nav = browser.find_element(By.CSS_SELECTOR, 'nav a[href="/dashboard/"]').text
    assert nav and nav != "Today", "the navigation is in Persian"
    for page in PAGES:
        browser.get(daemon.url("/dashboard/" + page))
        wait_for_ready(browser)
        assert browser.execute_script("return document.documentElement.lang") == "fa", page
        browser.save_screenshot(str(artefacts / f"fa-{page or 'today'}.png"))


def test_arabic_is_right_to_left_with_arabic_digits(daemon, browser, artefacts):
    sign_in(browser, daemon, daemon.owner_token)
    wait_for_today(browser)
    choose(browser, "ar")
    assert browser.execute_script("return document.documentElement.dir") == "rtl"
    visits = daemon.admin_api("/v1/today")["visits"]["total"]
    assert browser.find_element(By.ID, "visits").text == in_digits(visits, ARABIC_DIGITS)
    browser.save_screenshot(str(artefacts / "ar-today.png"))
    choose(browser, "en")  # and back: the choice is kept in this browser only
    assert browser.find_element(By.ID, "visits").text == str(visits)


def test_every_page_in_english_is_saved(daemon, browser, artefacts):
    sign_in(browser, daemon, daemon.owner_token)
    wait_for_today(browser)
    for page in PAGES:
        browser.get(daemon.url("/dashboard/" + page))
        wait_for_ready(browser)
        browser.save_screenshot(str(artefacts / f"en-{page or 'today'}.png"))
