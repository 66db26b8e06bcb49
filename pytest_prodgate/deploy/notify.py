"""Telling people: a JSON POST of the outcome to each configured webhook (plain JSON or Slack's format),
each Apprise URL of ``[tool.prodgate.alerts]`` (the channels ``prodgate watch`` uses), and optionally
an email through SMTP. A deployment's outcome is *info* when it deployed and *critical* otherwise;
a channel of ``[tool.prodgate.alerts]`` hears only the severities it subscribes to.

Each POST and the SMTP session have their own timeout; a failure is logged and returned, and never
changes the outcome. The SMTP password is read from the variable ``password_env`` names, never from
the configuration.
Webhook URLs often carry a token (Slack's do), so only scheme and host are ever printed or recorded.
"""

from __future__ import annotations

import os
import smtplib
import sys
from collections.abc import Iterable
from email.message import EmailMessage
from typing import IO, Any
from urllib.parse import urlsplit

import httpx

from pytest_prodgate.deploy.config import Email, Webhook

__all__ = ["notify", "notify_apprise", "notify_email", "payload_for", "shown_url"]


def shown_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}/..."


def summary_of(record: dict[str, Any]) -> dict[str, Any]:
    """What a notification says: the record without the output tails."""
    keys = (
        "id",
        "environment",
        "target",
        "git_commit",
        "user",
        "started",
        "finished",
        "outcome",
        "exit_code",
        "reason",
        "dry_run",
    )
    summary = {key: record.get(key) for key in keys}
    summary["steps"] = [
        {k: step.get(k) for k in ("name", "status", "exit_code", "duration", "reason")}
        for step in record.get("steps", [])
    ]
    return summary


def text_of(record: dict[str, Any]) -> str:
    ok = record.get("exit_code") == 0
    where = record.get("environment") or record.get("target")
    commit = (record.get("git_commit") or "")[:10]
    line = f"{'✅' if ok else '❌'} prodgate deploy to {where}: {record.get('outcome')} (exit code {record.get('exit_code')})"
    if commit:
        line += f", commit {commit}"
    if record.get("reason") and not ok:
        line += f"\n{record['reason']}"
    return line


def payload_for(hook: Webhook, record: dict[str, Any]) -> dict[str, Any]:
    if hook.format == "slack":
        text = text_of(record)
        return {
            "text": text,
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
        }
    return {"event": "prodgate.deploy", "text": text_of(record), "deployment": summary_of(record)}


def severity_of(record: dict[str, Any]) -> str:
    return "info" if record.get("exit_code") == 0 else "critical"


def notify(hooks: Iterable[Webhook], record: dict[str, Any], *, log: IO[str] | None = None) -> list[dict[str, Any]]:
    """POST the outcome to every hook (or send it through Apprise); returns what happened to each (for the record)."""
    log = log or sys.stderr
    results = []
    severity = severity_of(record)
    for hook in hooks:
        if severity not in hook.severities:
            continue
        shown = shown_url(hook.url)
        if hook.format == "apprise":
            result, ok = notify_apprise(hook, record, severity)
        else:
            result, ok = _post(hook, record)
        if not ok:
            print(f"prodgate deploy: notification to {shown} {result} (the outcome stands)", file=log, flush=True)
        results.append({"url": shown, "format": hook.format, "ok": ok, "result": result})
    return results


def _post(hook: Webhook, record: dict[str, Any]) -> tuple[str, bool]:
    try:
        response = httpx.post(
            hook.url, json=payload_for(hook, record), headers=dict(hook.headers), timeout=hook.timeout
        )
    except httpx.HTTPError as exc:
        return f"failed: {type(exc).__name__}", False
    return f"HTTP {response.status_code}", response.is_success


def notify_apprise(hook: Webhook, record: dict[str, Any], severity: str) -> tuple[str, bool]:
    """The outcome through an Apprise URL (email via mailto://, Slack, Teams...), as ``prodgate watch`` sends alerts."""
    from pytest_prodgate.watch.channels import Message, send
    from pytest_prodgate.watch.config import Channel

    message = email_message_text(record)
    title, _, body = message.partition("\n")
    channel = Channel("apprise", hook.url, format="apprise", timeout=hook.timeout, severities=hook.severities)
    ok, result = send(channel, Message(title, body, payload_for(hook, record), severity))
    return result, ok


def email_message_text(record: dict[str, Any]) -> str:
    """The subject line, then the body, of the outcome told to people (email, Apprise)."""
    first, _, rest = text_of(record).partition("\n")
    lines = [first, rest, ""] if rest else [first, ""]
    for step in record.get("steps", []):
        lines.append(f"- {step.get('name')}: {step.get('status')} ({step.get('reason')})")
    lines += ["", f"deployment {record.get('id')}, user {record.get('user')}, started {record.get('started')}"]
    return "\n".join(lines) + "\n"


def email_message(email: Email, record: dict[str, Any]) -> EmailMessage:
    message = EmailMessage()
    text = email_message_text(record)
    message["Subject"] = text.partition("\n")[0]
    message["From"] = email.sender
    message["To"] = ", ".join(email.to)
    message.set_content(text)
    return message


def notify_email(email: Email, record: dict[str, Any], *, log: IO[str] | None = None) -> dict[str, Any]:
    """Send the outcome by email; returns what happened (for the record)."""
    log = log or sys.stderr
    shown = f"smtp://{email.host}:{email.port}"
    try:
        with smtplib.SMTP(email.host, email.port, timeout=email.timeout) as smtp:
            if email.starttls:
                smtp.starttls()
            if email.user:
                smtp.login(email.user, os.environ.get(email.password_env or "", ""))
            refused = smtp.send_message(email_message(email, record))
        ok, result = not refused, "sent" if not refused else f"refused for {', '.join(sorted(refused))}"
    except (OSError, smtplib.SMTPException) as exc:
        ok, result = False, f"failed: {type(exc).__name__}"
    if not ok:
        print(f"prodgate deploy: email to {shown} {result} (the outcome stands)", file=log, flush=True)
    return {"url": shown, "format": "email", "ok": ok, "result": result}
