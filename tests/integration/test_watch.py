"""monitor posts exactly one alert to a webhook when the API is killed, and one when it is back."""

import json
import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


class Receiver(BaseHTTPRequestHandler):
    posted: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.posted.append((time.monotonic(), json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def wait_for(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_one_alert_down_and_one_on_recovery(stack):
    assert stack.run("up").returncode == 0
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Receiver.posted = []
    stack.env["STACKCTL_ALERT_WEBHOOK"] = f"http://127.0.0.1:{server.server_port}/hook"
    watching = stack.popen("monitor", "--interval", "1")
    try:
        time.sleep(3)
        assert Receiver.posted == []  # a healthy stack: silence
        killed = time.monotonic()
        subprocess.run(["docker", "kill", f"{stack.name}-api-1"], capture_output=True, check=True)
        assert wait_for(lambda: any(m["kind"] == "down" for _, m in Receiver.posted), 30), Receiver.posted
        time.sleep(4)  # several more looks while it is down
        down = [(t, m) for t, m in Receiver.posted if m["kind"] == "down"]
        assert [m["message"] for _, m in down if m["message"].startswith("api ")] == ["api is stopped"]
        back = stack.run("start", "api")
        assert back.returncode == 0, back.stderr
        assert wait_for(lambda: any(m["kind"] == "recovered" for _, m in Receiver.posted), 30), Receiver.posted
        time.sleep(3)
    finally:
        watching.send_signal(signal.SIGINT)
        shown, _ = watching.communicate(timeout=30)
        server.shutdown()
    recovered = [m for _, m in Receiver.posted if m["kind"] == "recovered"]
    assert any(m["message"].startswith("service api recovered") for m in recovered), Receiver.posted
    # one alert per incident: whatever else the kill took down (web's check through nginx), never repeated
    messages = [m["message"] for _, m in Receiver.posted]
    assert len(messages) == len(set(messages)), messages
    print(f"first alert {down[0][0] - killed:.1f}s after the kill")
    assert watching.returncode == 0, shown


def test_5xx_through_the_proxy_alert_once_across_cron_looks(stack):
    """monitor --once as cron runs it: 5xx in the proxy's access log raise one alert, the next
    look (a new process) remembers the open incidents and says nothing more."""
    import re

    import httpx

    assert stack.run("up").returncode == 0
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Receiver.posted = []
    stack.env.update(STACKCTL_ALERT_WEBHOOK=f"http://127.0.0.1:{server.server_port}/hook", STACKCTL_ALERT_5XX_MIN="5")
    try:
        subprocess.run(["docker", "stop", f"{stack.name}-api-1"], capture_output=True, check=True)
        codes = [httpx.get(stack.url("/api/health"), timeout=10).status_code for _ in range(20)]
        assert all(500 <= code < 600 for code in codes), codes  # 502, or 504 when a lookup times out
        first = stack.run("monitor", "--once")
        assert first.returncode == 3, first.stderr
        messages = [m["message"] for _, m in Receiver.posted]
        assert "api is stopped" in messages, messages
        errors = [re.match(r"(\d+) of (\d+) requests through web were answered with a 5xx", m) for m in messages]
        found = [m for m in errors if m]
        assert len(found) == 1 and int(found[0][1]) >= 20, messages
        again = stack.run("monitor", "--once")
        assert again.returncode == 3, again.stderr
        assert len(Receiver.posted) == len(messages), Receiver.posted  # still open: nothing new
        assert stack.run("start", "api").returncode == 0
        back = stack.run("monitor", "--once")
        kinds = [(m["kind"], m["message"]) for _, m in Receiver.posted[len(messages):]]
        assert ("recovered", "service api recovered (was: api is stopped)") in kinds, (kinds, back.stdout)
    finally:
        server.shutdown()


def test_a_webhook_that_answers_500_then_200_gets_the_alert_exactly_once(stack):
    """An alert is delivered on a 2xx only: the 500 leaves it in the outbox, the next look sends it."""
    assert stack.run("up").returncode == 0
    answers, posted = [500, 200, 200], []

    class Flaky(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            posted.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(answers.pop(0) if answers else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stack.env["STACKCTL_ALERT_WEBHOOK"] = f"http://127.0.0.1:{server.server_port}/hook"
    try:
        subprocess.run(["docker", "stop", f"{stack.name}-api-1"], capture_output=True, check=True)
        first = stack.run("monitor", "--once")
        assert first.returncode == 3 and "alert not delivered" in first.stderr, first.stderr
        assert [p["message"] for p in posted if p["message"].startswith("api ")] == ["api is stopped"]
        time.sleep(11)  # the outbox's first backoff
        second = stack.run("monitor", "--once")
        assert "delivered to webhook: [" in second.stderr, second.stderr
        third = stack.run("monitor", "--once")
        assert "delivered" not in third.stderr
    finally:
        server.shutdown()
    api = [p for p in posted if p["message"] == "api is stopped"]
    assert len(api) == 2 and api[0]["id"] == api[1]["id"]  # one alert: refused once, taken once, never again
    assert all(len(p["text"]) < 250 and "<html" not in p["text"] for p in posted)
