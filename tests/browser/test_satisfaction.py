"""The Satisfaction page in a real browser: the weekly trend, the breakdown by cashier with each
score's answers and range, and comments filtered by tag, all equal to what the admin API answers,
against a regularsd of its own (the demo store plus four answers from two cashiers)."""
import datetime

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from conftest import demo_daemon, run_till
from test_dashboard import sign_in, wait, wait_for_ready, wait_for_today

RUDE = 'Nobody said hello <b onclick="x()">at all</b>'


@pytest.fixture(scope="module")
def rated():
    for d in demo_daemon():
        run_till(d, "customer card 4000123\nfeedback --nps 9\nfeedback --nps 10\n"
                    f"feedback --nps 3 --reason long_queue {RUDE}\n", cashier="c-07")
        run_till(d, "customer card 4000456\nfeedback --csat 5 --reason friendly_staff Lovely chat at the till\n", cashier="c-08")
        yield d


def this_monday():
    today = datetime.datetime.now(datetime.timezone.utc).date()
    return (today - datetime.timedelta(days=today.weekday())).isoformat()


def chart_data(browser, canvas_id):
    """What Chart.js drew on a canvas: its labels and datasets, and whether any pixel is painted."""
    return browser.execute_script("""
        const canvas = document.getElementById(arguments[0]);
        const chart = Chart.getChart(canvas);
        const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        const line = chart.data.datasets.find(d => d.type === "line"), bars = chart.data.datasets.find(d => d.type === "bar");
        return {labels: chart.data.labels, values: line.data, ranges: bars.data,
                drawn: pixels.some((v, i) => i % 4 === 3 && v > 0)};""", canvas_id)


def open_satisfaction(browser, daemon):
    sign_in(browser, daemon, daemon.owner_token)
    wait_for_today(browser)
    browser.find_element(By.ID, "nps-label").click()  # Today's NPS figure links to the page
    wait(browser, EC.url_contains("/dashboard/satisfaction"))
    wait_for_ready(browser)


def test_trend_and_breakdown_equal_the_report_with_counts_and_ranges(rated, browser, artefacts):
    open_satisfaction(browser, rated)
    week = rated.admin_api("/v1/reports/satisfaction?by=week")["rows"]
    this_week = next(r for r in week if r["key"] == this_monday())
    for score in ("nps", "csat"):
        chart = chart_data(browser, f"{score}-chart")
        assert chart["drawn"], f"the {score} chart was not drawn"
        # The last week is this week: its point, its 95% range and its number of answers.
        assert chart["labels"][-1] == [this_monday()[5:], f"n={this_week[score + '_responses']}"]
        assert chart["values"][-1] == this_week[score]
        assert chart["ranges"][-1] == this_week[score + "_interval"]
        assert all(v is None for v in chart["values"][:-1]), "no answers in the earlier weeks"
    assert this_week["nps_responses"] == 3

    by_cashier = {r["key"]: r for r in rated.admin_api("/v1/reports/satisfaction?by=cashier")["rows"]}
    shown = {tr.get_attribute("data-key"): tr for tr in browser.find_elements(By.CSS_SELECTOR, "#breakdown tbody tr[data-key]")}
    for cashier in ("c-07", "c-08"):
        row, tr = by_cashier[cashier], shown[cashier]
        assert tr.find_element(By.CSS_SELECTOR, ".nps-n").text == str(row["nps_responses"])
        assert tr.find_element(By.CSS_SELECTOR, ".csat-n").text == str(row["csat_responses"])
        assert "few answers" in tr.text  # 4 answers are not 300: the page says so
        if row["nps_interval"]:
            low, high = row["nps_interval"]
            assert tr.find_element(By.CSS_SELECTOR, ".nps-range").text == f"{low:g} to {high:g}"
    assert shown["c-07"].find_element(By.CSS_SELECTOR, ".nps").text == f"{by_cashier['c-07']['nps']:g}"
    browser.save_screenshot(str(artefacts / "satisfaction.png"))

    browser.find_element(By.CSS_SELECTOR, '#by option[value="touchpoint"]').click()
    wait(browser, lambda b: b.find_element(By.ID, "by-heading").text == "Touchpoint")
    wait_for_ready(browser)
    keys = [tr.get_attribute("data-key") for tr in browser.find_elements(By.CSS_SELECTOR, "#breakdown tbody tr[data-key]")]
    api = [r["key"] for r in rated.admin_api("/v1/reports/satisfaction?by=touchpoint")["rows"]]
    assert keys[:-1] == api  # the last row is the total


def test_comments_filter_by_tag_and_stay_text(rated, browser, artefacts):
    open_satisfaction(browser, rated)
    comments = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#comments .comment")]
    assert comments == ["Lovely chat at the till", RUDE]  # newest first, markup shown as text
    assert browser.find_elements(By.CSS_SELECTOR, "#comments b") == []
    options = [o.text for o in browser.find_elements(By.CSS_SELECTOR, "#tag option")]
    assert options == ["All comments", "friendly staff (1)", "long queue (1)"], options
    browser.find_element(By.CSS_SELECTOR, '#tag option[value="long_queue"]').click()
    wait(browser, lambda b: [c.text for c in b.find_elements(By.CSS_SELECTOR, "#comments .comment")] == [RUDE])
    api = rated.admin_api("/v1/comments?reason=long_queue")["items"]
    assert [c["comment"] for c in api] == [RUDE]
    browser.save_screenshot(str(artefacts / "satisfaction-comments.png"))
