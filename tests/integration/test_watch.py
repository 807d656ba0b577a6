"""watch posts exactly one alert to a webhook when the API is killed, and one when it is back."""

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
    watching = stack.popen("watch", "--interval", "1")
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
