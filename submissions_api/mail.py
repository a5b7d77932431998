"""E-mail: the sign-in invitation as a message, and sending a message over SMTP
(MLPGRADE_SMTP_*, settings.py). No web framework and no service here: the bulk worker sends.

Headers are built by the standard library's `EmailMessage`, which encodes non-ASCII names and
refuses a header holding a line break, so a name or address from a roster cannot add headers.
Names also lose control and bidirectional-formatting characters (a right-to-left override could
make "gnp.exe" read as "exe.png"), in the headers and in the text.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import unicodedata
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from html import escape

from submissions_api.settings import SmtpSettings

SMTP_TIMEOUT = 20.0


class MailError(Exception):
    """A message that did not go out: the server's answer or why it could not be reached.
    `permanent` when sending it again cannot help (the server refused the address)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def clean_name(name: str, limit: int = 100) -> str:
    """A person's name fit for a header and a sentence: control and format characters (line
    breaks, bidi overrides and isolates, zero-width marks) removed, spaces collapsed."""
    kept = "".join(" " if ch.isspace() else ch for ch in name
                   if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf"))
    return " ".join(kept.split())[:limit]


def parse_address(text: str) -> Address:
    """An e-mail address (`local@domain`, nothing else: no display name, no list); ValueError
    with what is wrong otherwise."""
    text = text.strip()
    if not text or any(ch in text for ch in "\r\n,;<>\"") or text.count("@") != 1:
        raise ValueError(f"not an e-mail address: {text!r}")
    try:
        address = Address(addr_spec=text)
    except (ValueError, IndexError) as exc:
        raise ValueError(f"not an e-mail address: {text!r} ({exc})") from exc
    if not address.username or "." not in address.domain:
        raise ValueError(f"not an e-mail address: {text!r} (no domain)")
    return address


def invitation(*, sender: str, course: str, name: str, login: str, to: str, link: str,
               expires_at: datetime, sign_in_url: str) -> EmailMessage:
    """The e-mail that carries a sign-in link: plain text with an HTML alternative."""
    course, name = clean_name(course) or "mlpgrade", clean_name(name) or login
    message = EmailMessage()
    message["Subject"] = f"Your sign-in link for {course}"
    message["From"] = sender
    message["To"] = Address(display_name=name, addr_spec=parse_address(to).addr_spec)
    message["Date"] = format_datetime(datetime.now().astimezone())
    message["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or None)
    expires = expires_at.strftime("%Y-%m-%d %H:%M UTC")
    text = [
        f"Hello {name},",
        "",
        f"{course} grades homework with mlpgrade. Open this link to sign in as {login}:",
        "",
        link,
        "",
        f"The link works once, until {expires}. It opens a page with a \"Sign in\" button;",
        "after you press it, this browser stays signed in.",
        "",
        "If the link has expired or was already used, ask for a new one on the sign-in page,",
        f"{sign_in_url}, with your login or this e-mail address, or ask your course staff.",
        "",
        "If you did not expect this e-mail, ignore it: nobody can sign in without the link.",
    ]
    message.set_content("\n".join(text) + "\n")
    message.add_alternative(_html(course, name, login, link, expires, sign_in_url), subtype="html")
    return message


def _html(course: str, name: str, login: str, link: str, expires: str, sign_in_url: str) -> str:
    e = escape
    return (f"<!doctype html><html><body><p>Hello {e(name)},</p>"
            f"<p>{e(course)} grades homework with mlpgrade. Open this link to sign in as "
            f"<b>{e(login)}</b>:</p><p><a href=\"{e(link)}\">{e(link)}</a></p>"
            f"<p>The link works once, until {e(expires)}. It opens a page with a "
            "&ldquo;Sign in&rdquo; button; after you press it, this browser stays signed in.</p>"
            "<p>If the link has expired or was already used, ask for a new one on the "
            f"<a href=\"{e(sign_in_url)}\">sign-in page</a> with your login or this e-mail "
            "address, or ask your course staff.</p><p>If you did not expect this e-mail, "
            "ignore it: nobody can sign in without the link.</p></body></html>\n")


def send(smtp: SmtpSettings, message: EmailMessage, *, timeout: float = SMTP_TIMEOUT) -> None:
    """Hand `message` to the mail server; MailError when it did not take it."""
    try:
        if smtp.ssl:
            server: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=timeout,
                                                    context=ssl.create_default_context())
        else:
            server = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
        try:
            if smtp.starttls:
                server.starttls(context=ssl.create_default_context())
            if smtp.user:
                server.login(smtp.user, smtp.password)
            server.send_message(message)
        finally:
            # Once the server took the message it is sent: a connection lost while saying
            # goodbye must not record a failure (and a second link) for a delivered one.
            with contextlib.suppress(smtplib.SMTPException, OSError):
                server.quit()
    except smtplib.SMTPRecipientsRefused as exc:
        answers = "; ".join(f"{code} {text.decode(errors='replace')}"
                            for code, text in exc.recipients.values())
        raise MailError(f"the mail server refused the address: {answers}",
                        permanent=True) from exc
    except smtplib.SMTPResponseException as exc:
        answer = exc.smtp_error.decode(errors="replace") if isinstance(
            exc.smtp_error, bytes) else str(exc.smtp_error)
        raise MailError(f"the mail server answered {exc.smtp_code} {answer}",
                        permanent=500 <= exc.smtp_code < 600) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"could not reach the mail server {smtp.host}:{smtp.port}: "
                        f"{exc or type(exc).__name__}") from exc
