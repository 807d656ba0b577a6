"""Alerts are delivered, not just sent: a webhook that answers 3xx or 5xx has not taken an alert,
which waits in the outbox and goes at a later look, once; the text is one short line."""

from types import SimpleNamespace

import pytest

from stackctl import alerts


@pytest.fixture
def webhook(monkeypatch):
    answers, seen = [], []

    class Response:
        def __init__(self, code):
            self.status_code = code

    import httpx

    def post(url, json, timeout, follow_redirects):
        seen.append(json)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return Response(answer)

    monkeypatch.setattr(httpx, "post", post)
    return answers, seen


SETTINGS = SimpleNamespace(alert_webhook="https://hooks.example/x", alert_smtp="", alert_email_to="")


def test_a_500_then_a_200_delivers_the_alert_exactly_once(tmp_path, webhook):
    answers, seen = webhook
    outbox = alerts.Outbox.load(tmp_path / "outbox.json")
    outbox.add("shop", "down", "api is stopped", alerts.destinations(SETTINGS))
    outbox.save()
    answers += [500]
    assert alerts.deliver(outbox, "shop", SETTINGS, now=1000) == []
    again = alerts.Outbox.load(tmp_path / "outbox.json")  # kept across a restart of watch
    assert len(again.alerts) == 1 and again.alerts[0].last_error == "webhook: NotDelivered: the webhook answered HTTP 500"
    assert alerts.deliver(again, "shop", SETTINGS, now=1005) == []  # not due yet: backoff
    answers += [200]
    assert alerts.deliver(again, "shop", SETTINGS, now=1011) == ["webhook: [shop] DOWN: api is stopped"]
    assert alerts.deliver(again, "shop", SETTINGS, now=2000) == [] and answers == []
    assert len(seen) == 2 and seen[0]["id"] == seen[1]["id"]  # one alert, tried twice, taken once
    assert alerts.Outbox.load(tmp_path / "outbox.json").alerts == []


@pytest.mark.parametrize("answer", [301, 302, 404, 503, ConnectionError("refused")])
def test_a_redirect_an_error_or_no_answer_is_not_delivery(tmp_path, webhook, answer):
    answers, _ = webhook
    outbox = alerts.Outbox(tmp_path / "o.json")
    outbox.add("shop", "down", "api is stopped", ["webhook"])
    answers.append(answer)
    assert alerts.deliver(outbox, "shop", SETTINGS, now=0) == [] and len(outbox.alerts) == 1


def test_alert_text_is_one_short_line_never_a_page_body():
    page = "web fails its check at http://x/: HTTP 502 from http://x/: <html>\n<head><title>502 Bad Gateway</title>"
    assert alerts.short(page) == "web fails its check at http://x/: HTTP 502 from http://x/"
    assert len(alerts.short("x" * 1000)) == alerts.MAX_TEXT


def test_a_password_over_plain_smtp_is_refused_by_check():
    from stackctl.preflight import check_alerts

    plain = SimpleNamespace(alert_smtp="smtp://ops@mail.example:25", alert_smtp_password="hunter2hunter2")
    assert not check_alerts(plain)[0].ok and "smtps://" in check_alerts(plain)[0].fix
    assert check_alerts(SimpleNamespace(alert_smtp="smtps://ops@mail.example", alert_smtp_password="x")) == []
