#!/usr/bin/env python3
"""How fast the owner's dashboard answers: every API call behind every page, on the benchmark store.

    tests/bench/dashboard_speed.py BUILD_DIR [--data-dir DIR] [--calls 100] [--rounds 3]

It generates regulars-bench's store (100,000 customers, 2,000,000 purchase lines, gesture rules
with offers) in DIR, or reuses DIR when it holds one; adds feedback (with tags and comments, so
follow-ups open) and staff ideas through the real plugin (sdk/python's binding); starts regularsd
on it; signs in to the dashboard as a browser does; then calls each page's API in turn, CALLS
times per round, taking turns call by call, for ROUNDS rounds. It prints each call's p50, p99 and
max per round, then min/median/max of the p99 over the rounds, against the 50 ms target. A
measurement, not a test: it asserts nothing and exits 0 unless something fails to run.
"""
import argparse
import http.client
import json
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TARGET_MS = 50.0
FEEDBACK = 20000
IDEAS = 1000
TAGS = ["long_queue", "friendly_staff", "price", "stock", "cleanliness", "parking"]


def say(*parts):
    print(*parts, flush=True)


def generate(build, data, customers, lines):
    if (data / "regulars.db").exists():
        say(f"store: reusing {data}")
        return
    say(f"store: generating {customers} customers, {lines} lines in {data} (regulars-bench)")
    started = time.monotonic()
    done = subprocess.run([str(build / "tests/bench/regulars-bench"), "--data-dir", str(data), "--customers", str(customers),
                           "--lines", str(lines), "--hints", "10", "--records", "10", "--records-clients", "1",
                           "--gesture-rules", "5", "--gesture-hints", "3000", "--redis-server", "", "--postgres-bin", ""],
                          stdout=subprocess.DEVNULL)
    # Exit 2 is the bench's own "some of my calls failed" (its short runs right after generating);
    # the store is what is wanted here.
    if done.returncode not in (0, 2) or not (data / "regulars.db").exists():
        sys.exit(f"regulars-bench could not generate the store (exit {done.returncode})")
    say(f"store: generated in {time.monotonic() - started:.0f} s")


class Daemon:
    def __init__(self, build, data, log):
        self.data = data
        self.proc = subprocess.Popen([str(build / "daemon/regularsd"), "--data-dir", str(data), "--log-format", "text"],
                                     stdout=log, stderr=subprocess.STDOUT)
        for _ in range(1200):
            if (data / "admin.endpoint").exists() and (data / "regularsd.sock").exists():
                break
            if self.proc.poll() is not None:
                sys.exit("regularsd exited at start; see its log")
            time.sleep(0.05)
        time.sleep(0.5)
        endpoint = urllib.parse.urlparse((data / "admin.endpoint").read_text().strip())
        self.host, self.port = endpoint.hostname, endpoint.port
        self.owner_token = (data / "admin.token").read_text().strip()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def seed_feedback(build, daemon, customers, spool):
    """Feedback and staff ideas through the plugin, as tills send them; once per store."""
    marker = daemon.data / "dashboard-speed.seeded"
    if marker.exists():
        return
    sys.path.insert(0, str(REPO / "sdk/python"))
    from regulars import Client
    library = next((build / "plugin").glob("libregulars.so.*.*"))
    rng = random.Random(7)
    started = time.monotonic()
    options = {"endpoint": f"unix:{daemon.data / 'regularsd.sock'}", "spool_dir": str(spool), "budget_ms": 5000,
               "terminal": "lane-1", "store": "main"}
    with Client(options, library=str(library)) as till:
        for i in range(FEEDBACK):
            event = {"type": "feedback", "cashier": f"c-{rng.randrange(12):02d}", "touchpoint": rng.choice(["till", "till", "web", "phone"]),
                     "customer": {"kind": "card", "value": f"L{10_000_000 + rng.randrange(customers)}"}}
            if rng.random() < 0.7:
                event["nps"] = rng.choice([0, 2, 3, 5, 6, 7, 8, 9, 9, 10, 10, 10])
            else:
                event["csat"] = rng.choice([1, 2, 3, 4, 4, 5, 5])
            if rng.random() < 0.4:
                event["reasons"] = rng.sample(TAGS, rng.randrange(1, 3))
                event["comment"] = f"Comment {i}: " + rng.choice(["the queue was long", "lovely staff", "out of oat milk", "too pricey"])
            till.record(event)
        for i in range(IDEAS):
            till.record({"type": "staff_idea", "cashier": f"c-{rng.randrange(12):02d}", "kind": rng.choice(["idea", "problem"]),
                         "text": f"Idea {i}: " + rng.choice(["move the bags", "a second lane at noon", "fix the scale"])})
    marker.write_text("seeded\n")
    say(f"seed: {FEEDBACK} feedback, {IDEAS} ideas in {time.monotonic() - started:.0f} s")


class Browser:
    """The dashboard as a signed-in browser calls it: one keep-alive connection, the session cookie."""

    def __init__(self, daemon):
        self.conn = http.client.HTTPConnection(daemon.host, daemon.port, timeout=60)
        status, headers, _ = self.call("POST", "/dashboard/login", "token=" + daemon.owner_token,
                                       {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 303:
            sys.exit(f"sign-in failed: {status}")
        self.cookie = re.search(r"regulars_session=([0-9a-f]{64})", headers["Set-Cookie"]).group(1)
        _, _, body = self.call("GET", "/dashboard/api/session")
        self.csrf = json.loads(body)["csrf"]

    def call(self, method, path, body=None, headers=None):
        h = dict(headers or {})
        if getattr(self, "cookie", None):
            h["Cookie"] = "regulars_session=" + self.cookie
        if getattr(self, "csrf", None) and method == "POST":
            h["X-CSRF-Token"] = self.csrf
            h.setdefault("Content-Type", "application/x-www-form-urlencoded")
        self.conn.request(method, path, body=body, headers=h)
        r = self.conn.getresponse()
        return r.status, r.headers, r.read()


def calls(customers):
    """Every API call behind every page, as the pages make them (GET unless a body is given)."""
    twelve_weeks = time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime(time.time() - 84 * 86400))
    rule = {"id": "speed-probe", "when": {"all": [{"segment": "regular"}]},
            "gesture": {"kind": "message", "message": {"en": "Hello {name|friend}"}}, "holdout": 0.1}
    card = f"L{10_000_000 + customers // 2}"
    return [
        ("today", "GET", "/dashboard/api/today", None),
        ("report by week", "GET", f"/dashboard/api/report?by=week&from={twelve_weeks}", None),
        ("report by cashier", "GET", f"/dashboard/api/report?by=cashier&from={twelve_weeks}", None),
        ("comments", "GET", f"/dashboard/api/comments?from={twelve_weeks}", None),
        ("comments by tag", "GET", f"/dashboard/api/comments?from={twelve_weeks}&reason=long_queue", None),
        ("followups", "GET", "/dashboard/api/followups?state=open", None),
        ("ideas", "GET", "/dashboard/api/ideas?state=new", None),
        ("gestures", "GET", "/dashboard/api/gestures", None),
        ("gesture validate", "POST", "/dashboard/api/gestures/validate", urllib.parse.urlencode({"rule": json.dumps(rule)})),
        ("journey", "POST", "/dashboard/api/journey", urllib.parse.urlencode({"kind": "card", "value": card})),
        ("tokens", "GET", "/dashboard/api/tokens", None),
    ]


def long_tasks(browser, customers, rounds):
    """The calls that start long work (the ROI, a dry run, an erasure) answer at once with a job; each is
    timed, then its result fetched (the work's own time is printed too, not judged)."""
    rule = {"id": "speed-probe", "when": {"all": [{"segment": "regular"}]},
            "gesture": {"kind": "message", "message": {"en": "Hello {name|friend}"}}}
    starts, polls = [], []
    for i in range(rounds):
        for name, path, body in [
                ("roi", "/dashboard/api/gestures/roi", None),
                ("dry run", "/dashboard/api/gestures/dry-run", urllib.parse.urlencode({"rule": json.dumps(rule), "days": "30"})),
                ("erase", "/dashboard/api/erase",
                 urllib.parse.urlencode({"kind": "card", "value": f"L{10_000_000 + customers - 1 - i}"}))]:
            t0 = time.perf_counter()
            status, _, answer = browser.call("POST" if body else "GET", path, body)
            starts.append((time.perf_counter() - t0) * 1000)
            if status != 202:
                sys.exit(f"{name}: {status} {answer[:200]!r}")
            job = json.loads(answer)["job"]
            while True:
                t1 = time.perf_counter()
                status, _, answer = browser.call("GET", f"/dashboard/api/jobs/{job}")
                polls.append((time.perf_counter() - t1) * 1000)
                if status != 202:
                    break
                time.sleep(0.1)
            say(f"  {name}: the work took {(time.perf_counter() - t0):.2f} s (status {status})")
    starts.sort()
    polls.sort()
    say(f"long tasks: starting p50={percentile(starts, 0.5):.2f} max={starts[-1]:.2f} ms; "
        f"fetching the result p50={percentile(polls, 0.5):.2f} p99={percentile(polls, 0.99):.2f} max={polls[-1]:.2f} ms")
    return max(starts[-1], percentile(polls, 0.99))


def percentile(sorted_ms, q):
    return sorted_ms[min(len(sorted_ms) - 1, int(q * len(sorted_ms)))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build", type=Path)
    ap.add_argument("--data-dir", type=Path)
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--calls", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    build = args.build.resolve()
    work = Path(tempfile.mkdtemp(prefix="regulars-dashboard-speed-"))
    data = (args.data_dir or work / "data").resolve()
    generate(build, data, args.customers, args.lines)
    with open(work / "regularsd.log", "w") as log:
        daemon = Daemon(build, data, log)
        try:
            seed_feedback(build, daemon, args.customers, work / "spool")
            browser = Browser(daemon)
            probes = calls(args.customers)
            for name, method, path, body in probes:  # each once first: every call must work
                status, _, answer = browser.call(method, path, body)
                if status not in (200, 202):
                    sys.exit(f"{name}: {status} {answer[:300]!r}")
            p99s = {name: [] for name, *_ in probes}
            for rnd in range(1, args.rounds + 1):
                taken = {name: [] for name, *_ in probes}
                for _ in range(args.calls):
                    for name, method, path, body in probes:
                        t0 = time.perf_counter()
                        status, _, _ = browser.call(method, path, body)
                        taken[name].append((time.perf_counter() - t0) * 1000)
                        if status not in (200, 202):
                            sys.exit(f"{name}: {status}")
                say(f"round {rnd} ({args.calls} calls each, taking turns):")
                for name, ms in taken.items():
                    ms.sort()
                    p99s[name].append(percentile(ms, 0.99))
                    say(f"  {name:18s} p50={percentile(ms, 0.5):7.2f} p99={percentile(ms, 0.99):7.2f} max={ms[-1]:7.2f} ms")
            say(f"p99 over {args.rounds} rounds, min/median/max (target: under {TARGET_MS:.0f} ms):")
            worst = 0.0
            for name, values in p99s.items():
                worst = max(worst, max(values))
                say(f"  {name:18s} {min(values):7.2f} / {statistics.median(values):7.2f} / {max(values):7.2f} ms"
                    f"{'' if max(values) < TARGET_MS else '   OVER'}")
            worst = max(worst, long_tasks(browser, args.customers, args.rounds))
            say(f"dashboard_p99_worst_ms={worst:.2f} target_ms={TARGET_MS:.0f} customers={args.customers} "
                f"feedback={FEEDBACK} ideas={IDEAS}")
        finally:
            daemon.stop()


if __name__ == "__main__":
    main()
