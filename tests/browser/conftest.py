"""The dashboard's browser tests: a real regularsd on a temporary data folder, seeded with the demo
store through regulars-till as packaging/demo/run-demo.sh does, and headless Chromium driven by
Selenium. Programs come from the environment ctest sets (tests/browser/CMakeLists.txt)."""
import http.client
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "packaging" / "demo"
CHIPS_RULE = {
    "id": "chips-for-the-kids",
    "when": {"all": [{"bought": {"category": "chips", "member": "any"}},
                     {"not": {"in_basket": {"category": "chips"}}}]},
    "gesture": {"kind": "free_item", "favourite": {"category": "chips", "member": "any"}, "value": 150,
                "message": {"en": "A free pack of {item} for {member|the family}, on the house!"}},
    "limits": {"cooldown_days": 30},
}


def program(name):
    path = os.environ.get(name)
    if not path or not os.access(path, os.X_OK):
        pytest.exit(f"{name} must name the built program (run these tests through ctest -L browser)", 2)
    return path


class Daemon:
    """regularsd on its own data folder, and how to reach it."""

    def __init__(self, root, args=()):
        self.data = root / "data"
        self.log_path = root / "regularsd.log"
        self.ctl = [program("REGULARS_REGULARSCTL"), "--data-dir", str(self.data)]
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([program("REGULARS_REGULARSD"), "--data-dir", str(self.data), "--log-format", "text",
                                      *args], stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_until_started()
        self.endpoint = (self.data / "admin.endpoint").read_text().strip()
        self.owner_token = (self.data / "admin.token").read_text().strip()
        parsed = urllib.parse.urlparse(self.endpoint)
        self.host, self.port = parsed.hostname, parsed.port

    def _wait_until_started(self):
        sock = self.data / "regularsd.sock"
        for _ in range(400):
            if sock.exists() and "regularsd started" in self.log_path.read_text():
                return
            if self.proc.poll() is not None:
                raise RuntimeError("regularsd exited at start:\n" + self.log_path.read_text()[-2000:])
            time.sleep(0.05)
        raise RuntimeError("regularsd did not start within 20 s")

    def url(self, path):
        return self.endpoint + path

    def regularsctl(self, *args):
        done = subprocess.run(self.ctl + list(args), capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"regularsctl {' '.join(args)} failed: {done.stderr}"
        return done.stdout

    def request(self, method, path, body=None, headers=None):
        """One plain HTTP request (no redirects followed): (status, headers, body text)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, r.headers, r.read().decode()
        finally:
            conn.close()

    def admin_api(self, path, method="GET"):
        status, _, body = self.request(method, path, headers={"Authorization": "Bearer " + self.owner_token})
        assert status == 200, f"{method} {path}: {status} {body}"
        return json.loads(body)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def seed_demo_store(daemon, root):
    """The demo's eight weeks of history, its gesture rule, then today's scripted checkout."""
    till = [program("REGULARS_TILL"), "--endpoint", f"unix:{daemon.data / 'regularsd.sock'}",
            "--spool", str(root / "spool"), "--terminal", "lane-1", "--plugin", program("REGULARS_PLUGIN")]
    subprocess.run(till + ["--script", str(DEMO / "seed.till"), "--quiet", "--budget-ms", "2000"],
                   check=True, capture_output=True, timeout=120)
    rule = root / "chips.json"
    rule.write_text(json.dumps(CHIPS_RULE))
    daemon.regularsctl("gestures", "add", str(rule))
    subprocess.run(till + ["--budget-ms", "2000", "--cashier", "c-07", "--pace", "0", "--script", str(DEMO / "checkout.till")],
                   check=True, capture_output=True, timeout=120)


def demo_daemon():
    """A regularsd seeded with the demo store, stopped and removed when the generator closes."""
    root = Path(tempfile.mkdtemp(prefix="regulars-dashboard-"))
    d = Daemon(root)
    d.root = root
    try:
        seed_demo_store(d, root)
        yield d
    finally:
        d.stop()
        if os.environ.get("KEEP_DASHBOARD_TEST") != "1":
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def daemon():
    yield from demo_daemon()


def run_till(daemon, script_text, cashier="c-07", quiet=True):
    """Runs a regulars-till script (packaging/demo's format) on lane-1 against `daemon`; its output."""
    script = daemon.root / "extra.till"
    script.write_text(script_text)
    till = [program("REGULARS_TILL"), "--endpoint", f"unix:{daemon.data / 'regularsd.sock'}",
            "--spool", str(daemon.root / "spool"), "--terminal", "lane-1", "--plugin", program("REGULARS_PLUGIN"),
            "--budget-ms", "2000", "--cashier", cashier, "--pace", "0", "--script", str(script)] + (["--quiet"] if quiet else [])
    return subprocess.run(till, check=True, capture_output=True, text=True, timeout=120).stdout


@pytest.fixture(scope="session")
def artefacts():
    chosen = os.environ.get("REGULARS_BROWSER_ARTEFACTS")
    folder = Path(chosen) if chosen else Path(tempfile.mkdtemp(prefix="regulars-screens-"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def chromium():
    """A new headless Chromium under Selenium; the caller quits it."""
    options = Options()
    options.binary_location = os.environ.get("REGULARS_CHROMIUM", "/usr/bin/chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900",
                "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(os.environ.get("REGULARS_CHROMEDRIVER", "/usr/bin/chromedriver")),
                              options=options)
    driver.set_page_load_timeout(30)
    return driver


@pytest.fixture
def browser():
    driver = chromium()
    try:
        yield driver
    finally:
        driver.quit()


def one_time_link(daemon):
    out = daemon.regularsctl("dashboard")
    m = re.search(r"(http://\S+/dashboard/link#[0-9a-f]{64})", out)
    assert m, f"regularsctl dashboard printed no login link:\n{out}"
    return m.group(1)
