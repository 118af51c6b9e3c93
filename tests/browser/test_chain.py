"""The Chain page in a real browser, against a real chain: a PostgreSQL hub this test starts in a
temporary folder (initdb and pg_ctl, on a Unix socket there), and two store daemons, A (the demo
store with its gesture rule and some ratings) and B (one customer of A's, a purchase and a
rating). The page's link state, its report by store and its gesture ROI must equal what the admin
API's chain commands answer, the chain's row must be the stores' rows summed, and with the hub
stopped the page must say that the figures cannot be loaded while the store keeps serving."""
import datetime
import glob
import json
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from conftest import Daemon, chromium, run_till, seed_demo_store
from test_accessibility import assert_accessible, axe_source  # noqa: F401 (a fixture)
from test_dashboard import sign_in, wait, wait_for_ready, wait_for_today


def postgres_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.fail("PostgreSQL is not installed; packaging/setup.sh installs Debian's postgresql", pytrace=False)
    return Path(found[-1]).parent


class Hub:
    """A PostgreSQL cluster in `folder`, listening only on a Unix socket there. Run as root, the
    server runs as Debian's `postgres` account (PostgreSQL refuses root)."""

    def __init__(self, folder):
        self.bin = postgres_bin()
        self.folder = folder
        self.cluster = folder / "cluster"
        folder.mkdir(mode=0o700)
        self.user = None
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            self.user, self.group = account.pw_uid, account.pw_gid
            os.chmod(folder.parent, 0o711)  # the server's account must reach its folder, not list it
            os.chown(folder, self.user, self.group)
        self._as_server([self.bin / "initdb", f"--pgdata={self.cluster}", "--username=regulars", "--auth=trust"])
        self.start()
        subprocess.run([self.bin / "psql", "-h", str(folder), "-U", "regulars", "-d", "postgres", "-q", "-c",
                        "CREATE DATABASE chain"], check=True, capture_output=True, timeout=60)

    def _as_server(self, argv):
        kwargs = {"user": self.user, "group": self.group, "extra_groups": []} if self.user is not None else {}
        done = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=120, **kwargs)
        assert done.returncode == 0, f"{argv[0]} failed: {done.stdout}{done.stderr}"

    def start(self):
        options = f"-c listen_addresses= -c unix_socket_directories={self.folder}"
        self._as_server([self.bin / "pg_ctl", "-D", self.cluster, "-l", self.folder / "server.log", "-w", "-o", options, "start"])

    def stop(self):
        self._as_server([self.bin / "pg_ctl", "-D", self.cluster, "-m", "fast", "-w", "stop"])

    @property
    def conninfo(self):
        return f"host={self.folder} dbname=chain user=regulars"


def chain_store(root, store_id, secret, hub):
    """A store daemon in the chain: the chain's identity secret, and a chain section naming the hub."""
    data = root / "data"
    data.mkdir(parents=True, mode=0o700)
    (data / "secret.key").write_bytes(secret)
    os.chmod(data / "secret.key", 0o600)
    config = root / "regularsd.conf"
    # Gestures take the tills' own times: the demo's history lies weeks back.
    config.write_text(json.dumps({"chain": {"hub": hub.conninfo, "store_id": store_id, "poll_ms": 50, "roi_every_s": 1},
                                  "gestures": {"max_clock_skew_minutes": 5256000}}))
    d = Daemon(root, ["--config", str(config)])
    d.root = root
    return d


def twelve_weeks_ago():
    today = datetime.datetime.now(datetime.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    return (today - datetime.timedelta(days=12 * 7 - 1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def settled(store, check, what, timeout=60):
    """Waits until `check(answer of store's chain report, answer of its chain ROI)` holds."""
    deadline = time.monotonic() + timeout
    while True:
        report = store.admin_api("/v1/chain/report?from=" + urllib.parse.quote(twelve_weeks_ago()))
        roi = store.admin_api("/v1/chain/roi")
        if check(report, roi):
            return report, roi
        assert time.monotonic() < deadline, f"the hub never showed {what}: {json.dumps(report)} {json.dumps(roi)}"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def chain():
    root = Path(tempfile.mkdtemp(prefix="regulars-chain-page-"))
    hub = Hub(root / "hub")
    secret = secrets.token_bytes(32)
    stores = []
    try:
        a = chain_store(root / "A", "A", secret, hub)
        stores.append(a)
        b = chain_store(root / "B", "B", secret, hub)
        stores.append(b)
        seed_demo_store(a, a.root)
        run_till(a, "customer card 4000123\nfeedback --nps 9\nfeedback --nps 3 --reason long_queue The queue was long\n")
        run_till(b, "customer card 4000123\nscan sourdough 1 325 Sourdough loaf\npay\nfeedback --csat 5\n", cashier="c-21")

        def both_stores_in(report, roi):
            rows = {r["key"]: r for r in report["stores"]}
            return ("A" in rows and "B" in rows and rows["A"]["nps_responses"] >= 2 and rows["B"]["csat_responses"] >= 1
                    and rows["B"]["visits"] >= 1 and any(r["rule"] == "chips-for-the-kids" for r in roi["rules"]))

        settled(a, both_stores_in, "both stores' reports and A's gesture figures")
        yield {"a": a, "b": b, "hub": hub}
    finally:
        for s in stores:
            s.stop()
        try:
            hub.stop()
        except AssertionError:
            pass  # already stopped by a test
        if os.environ.get("KEEP_DASHBOARD_TEST") != "1":
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def owner_at_a(chain):
    driver = chromium()
    try:
        sign_in(driver, chain["a"], chain["a"].owner_token)
        wait_for_today(driver)
        yield driver
    finally:
        driver.quit()


def open_chain_page(browser, store):
    browser.get(store.url("/dashboard/chain"))
    wait_for_ready(browser)


def row_cells(browser, css):
    return browser.execute_script("""
        return Array.from(document.querySelectorAll(arguments[0])).map(tr => {
          const cells = {store: tr.dataset.store};
          for (const td of tr.querySelectorAll("td")) cells[td.className || "label"] = td.textContent;
          return cells;
        });""", css)


def test_the_page_shows_the_link_and_each_stores_report_as_the_hub_answers_it(chain, owner_at_a, artefacts):
    browser, a = owner_at_a, chain["a"]
    open_chain_page(browser, a)
    # Read again after the page: both come from the hub, which the stores keep writing to.
    report = a.admin_api("/v1/chain/report?from=" + urllib.parse.quote(twelve_weeks_ago()))
    status = a.admin_api("/v1/chain")
    assert browser.find_element(By.ID, "store-id").text == "A"
    assert browser.find_element(By.ID, "hub-state").get_attribute("data-connected") == "true"
    assert status["connected"] is True
    shown = {r["store"]: r for r in row_cells(browser, "#report tbody tr")}
    for row in report["stores"]:
        cells = shown[row["key"]]
        assert cells["nps-n"] == str(row["nps_responses"]), row
        assert cells["csat-n"] == str(row["csat_responses"]), row
        assert cells["visits"] == f"{row['visits']:,}", row
        assert cells["customers"] == f"{row['customers']:,}", row
        assert cells["nps"] == "–" if row["nps"] is None else float(cells["nps"].replace(",", "")) == row["nps"], row
    whole = shown["chain"]
    assert whole["label"].startswith("Whole chain")
    stores = report["stores"]
    assert whole["visits"] == f"{sum(r['visits'] for r in stores):,}"
    assert whole["nps-n"] == str(sum(r["nps_responses"] for r in stores))
    assert whole["csat-n"] == str(sum(r["csat_responses"] for r in stores))
    assert {r["key"] for r in stores} == {"A", "B"}
    # The customer bought at both stores: counted at each, once for the chain.
    assert int(whole["customers"].replace(",", "")) < sum(r["customers"] for r in stores)
    browser.save_screenshot(str(artefacts / "chain.png"))


def test_the_gesture_roi_shows_each_store_and_the_chain_pooled(chain, owner_at_a):
    browser, a = owner_at_a, chain["a"]
    open_chain_page(browser, a)
    roi = a.admin_api("/v1/chain/roi")
    rule = next(r for r in roi["rules"] if r["rule"] == "chips-for-the-kids")
    rows = row_cells(browser, '#roi-rules section[data-rule="chips-for-the-kids"] tbody tr')
    assert [r["store"] for r in rows] == [""] + [s["store"] for s in rule["stores"]]
    assert rows[0]["offers"] == f"{rule['chain']['offers']:,}"
    assert rule["chain"]["offers"] == sum(s["offers"] for s in rule["stores"]) >= 1
    assert rows[0]["offered"] == f"{rule['chain']['offered']['followed']:,}"
    verdict = browser.find_element(By.CSS_SELECTOR, '#roi-rules section[data-rule="chips-for-the-kids"] .verdict').text
    assert "too small" in verdict, verdict  # one offer: no range yet, and the page says why


def test_the_chain_page_is_accessible_with_its_figures(chain, owner_at_a, axe_source):  # noqa: F811
    open_chain_page(owner_at_a, chain["a"])
    assert_accessible(owner_at_a, axe_source, "the chain page with two stores' figures")


def test_with_the_hub_down_the_page_says_so_and_the_store_keeps_serving(chain, owner_at_a):
    browser, a = owner_at_a, chain["a"]
    chain["hub"].stop()
    try:
        open_chain_page(browser, a)
        status = browser.find_element(By.ID, "status")
        wait(browser, lambda b: status.is_displayed())
        assert "could not be loaded" in status.text, status.text
        # The tills are served from the store's own memory meanwhile: the purchase is stored here.
        before = a.admin_api("/v1/status")["events"]
        run_till(a, "customer card 4000123\nscan sourdough 1 325 Sourdough loaf\npay\n")
        assert a.admin_api("/v1/status")["events"] == before + 1
    finally:
        chain["hub"].start()
