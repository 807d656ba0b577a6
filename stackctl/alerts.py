"""Alerts that are delivered: each one waits in an outbox under `.stackctl/` until every
destination has taken it, retried with backoff at each look of `watch`.

A webhook has taken an alert when it answers 2xx (a redirect or a 5xx is not delivery); a mail
server when it accepts the message. An alert is written to the outbox before it is sent, and
each destination is struck from it as soon as it took it, so a watch killed at any moment sends
it at its next look, and a destination that took it is not sent it again. Each alert carries an
id (a webhook can drop a repeat). Its text is short: a status and one line, never a page body.

Email: `smtps://` (TLS from the first byte) or `smtp+starttls://`, the server's certificate
checked against the system's CAs either way; plain `smtp://` only without a password (`check`
refuses a password over plaintext).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

MAX_TEXT = 200
BACKOFF_FIRST = 10.0
BACKOFF_MAX = 600.0


def short(text: str) -> str:
    """One line, no page body (`HTTP 502 from URL: <html>...` keeps `HTTP 502 from URL`), at most MAX_TEXT."""
    line = " ".join(text.split())
    line = re.split(r":\s*<", line, maxsplit=1)[0]
    return line if len(line) <= MAX_TEXT else line[:MAX_TEXT - 1] + "…"


@dataclass
class Alert:
    id: str
    kind: str  # down | recovered
    line: str  # `[stack] DOWN: ...`
    text: str
    pending: list[str]  # destinations that have not taken it yet: webhook, email
    attempts: int = 0
    next_at: float = 0.0
    last_error: str = ""


@dataclass
class Outbox:
    path: Path
    alerts: list[Alert] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> Outbox:
        try:
            return cls(path, [Alert(**a) for a in json.loads(path.read_text())["alerts"]])
        except (OSError, ValueError, KeyError, TypeError):
            return cls(path)

    def save(self) -> None:
        from stackctl.statefiles import write_private

        write_private(self.path, json.dumps({"alerts": [a.__dict__ for a in self.alerts]}, indent=2))

    def add(self, stack_name: str, kind: str, text: str, destinations: list[str]) -> Alert | None:
        if not destinations:
            return None
        text = short(text)
        alert = Alert(uuid.uuid4().hex, kind, f"[{stack_name}] {'RECOVERED' if kind == 'recovered' else 'DOWN'}: {text}",
                      text, list(destinations))
        self.alerts.append(alert)
        return alert


def destinations(settings) -> list[str]:
    return (["webhook"] if settings.alert_webhook else []) + \
        (["email"] if settings.alert_smtp and settings.alert_email_to else [])


def deliver(outbox: Outbox, stack_name: str, settings, now: float | None = None, note=lambda _: None) -> list[str]:
    """Send what is due; each destination struck off (and the outbox saved) as it takes an alert.
    What was delivered, as `destination: line`."""
    now = time.time() if now is None else now
    delivered = []
    for alert in list(outbox.alerts):
        if alert.next_at > now:
            continue
        for destination in list(alert.pending):
            try:
                SENDERS[destination](settings, alert, stack_name)
            except Exception as exc:  # noqa: BLE001  (kept, retried later, and said)
                alert.attempts += 1
                alert.last_error = short(f"{destination}: {type(exc).__name__}: {exc}")
                alert.next_at = now + min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (alert.attempts - 1))
                note(f"alert not delivered ({alert.last_error}); retried in {alert.next_at - now:.0f}s")
                continue
            alert.pending.remove(destination)
            delivered.append(f"{destination}: {alert.line}")
            if not alert.pending:
                outbox.alerts.remove(alert)
            outbox.save()
        if alert.pending:
            outbox.save()
    return delivered


class NotDelivered(Exception):
    pass


def _webhook(settings, alert: Alert, stack_name: str) -> None:
    import httpx

    response = httpx.post(settings.alert_webhook, json={"text": alert.line, "stack": stack_name, "kind": alert.kind,
                                                        "message": alert.text, "id": alert.id},
                          timeout=10, follow_redirects=False)
    if not 200 <= response.status_code < 300:
        raise NotDelivered(f"the webhook answered HTTP {response.status_code}")


def _email(settings, alert: Alert, stack_name: str) -> None:
    import smtplib
    import ssl
    from email.message import EmailMessage
    from urllib.parse import urlparse

    url = urlparse(settings.alert_smtp)
    message = EmailMessage()
    message["Subject"], message["To"] = alert.line[:120], settings.alert_email_to
    message["From"] = settings.alert_email_from or f"stackctl@{url.hostname}"
    message["Message-ID"] = f"<{alert.id}@stackctl>"
    message.set_content(alert.line)
    context = ssl.create_default_context()  # the server's certificate and name checked
    if url.scheme == "smtps":
        smtp = smtplib.SMTP_SSL(url.hostname, url.port or 465, timeout=20, context=context)
    else:
        smtp = smtplib.SMTP(url.hostname, url.port or 25, timeout=20)
    with smtp:
        if url.scheme == "smtp+starttls":
            smtp.starttls(context=context)
        if url.username and settings.alert_smtp_password:
            if url.scheme == "smtp":
                raise NotDelivered("refusing to send the SMTP password over plaintext: use smtps:// or smtp+starttls://")
            smtp.login(url.username, settings.alert_smtp_password)
        refused = smtp.send_message(message)
        if refused:
            raise NotDelivered(f"the mail server refused {', '.join(refused)}")


SENDERS = {"webhook": _webhook, "email": _email}
