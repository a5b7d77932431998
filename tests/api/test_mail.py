"""The invitation e-mail and the SMTP settings without a database: names from a roster cannot
add headers or reverse text, addresses must be one address, half-made settings fail at start."""

from __future__ import annotations

import logging
import logging.config
from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest

from submissions_api.cli_serve import log_config
from submissions_api.mail import clean_name, invitation, parse_address
from submissions_api.settings import load_settings

LINK = "https://grader.example.edu/login/link/abc_DEF-123"


def make(name: str, to: str = "stu@example.edu", course: str = "11-785"):
    message = invitation(sender="Staff <staff@example.edu>", course=course, name=name,
                         login="stu1", to=to, link=LINK,
                         expires_at=datetime(2026, 12, 14, 9, 0, tzinfo=UTC),
                         sign_in_url="https://grader.example.edu/login")
    return message_from_bytes(message.as_bytes(policy=policy.SMTP), policy=policy.default)


def test_invitation_names_cannot_inject_headers_or_reverse_text():
    sent = make("Eve\r\nBcc: victim@example.com\u202egnp.exe\u200b", course="ML\nX-Evil: 1")
    assert sent["Bcc"] is None and sent["X-Evil"] is None
    assert sent["To"].addresses[0].display_name == "Eve Bcc: victim@example.comgnp.exe"
    assert sent["To"].addresses[0].addr_spec == "stu@example.edu"
    assert sent["Subject"] == "Your sign-in link for ML X-Evil: 1"
    text = sent.get_body(("plain",)).get_content()
    assert "\u202e" not in text and LINK in text and "2026-12-14 09:00 UTC" in text
    assert "sign-in page" in text and "works once" in text
    html = sent.get_body(("html",)).get_content()
    assert f'href="{LINK}"' in html


def test_invitation_keeps_names_in_other_scripts():
    sent = make("\u0645\u062d\u0645\u062f \u0639\u0644\u064a, Zo\u00eb \"Z\" O'Neil")
    assert sent["To"].addresses[0].display_name == ("\u0645\u062d\u0645\u062f \u0639\u0644\u064a"
                                                    ", Zo\u00eb \"Z\" O'Neil")
    assert clean_name("a\tb\x00c\u2066d") == "a bcd"


@pytest.mark.parametrize("bad", ["", "no-at-sign", "a@b@c.d", "x@y.z\r\nBcc: v@w.x",
                                 "Name <a@b.cd>", "a@b.cd, c@d.ef", "a@localhost"])
def test_invitation_refuses_what_is_not_one_address(bad):
    with pytest.raises(ValueError, match="not an e-mail address"):
        parse_address(bad)


def test_smtp_settings_from_the_environment():
    assert load_settings({"MLPGRADE_HOME": "/tmp/x"}).smtp is None
    smtp = load_settings({"MLPGRADE_HOME": "/tmp/x", "MLPGRADE_SMTP_HOST": "mail.example.edu",
                          "MLPGRADE_SMTP_FROM": "staff@example.edu",
                          "MLPGRADE_SMTP_STARTTLS": "1", "MLPGRADE_SMTP_PASSWORD": "pw"}).smtp
    assert (smtp.host, smtp.port, smtp.starttls, smtp.ssl) == ("mail.example.edu", 587, True,
                                                               False)
    assert "pw" not in repr(smtp)
    with pytest.raises(ValueError, match="MLPGRADE_SMTP_FROM"):
        load_settings({"MLPGRADE_HOME": "/tmp/x", "MLPGRADE_SMTP_HOST": "mail.example.edu"})
    with pytest.raises(ValueError, match="not both"):
        load_settings({"MLPGRADE_HOME": "/tmp/x", "MLPGRADE_SMTP_HOST": "h", "MLPGRADE_SMTP_FROM":
                       "a@b.cd", "MLPGRADE_SMTP_SSL": "1", "MLPGRADE_SMTP_STARTTLS": "1"})


def test_access_log_hides_sign_in_links():
    """`serve`'s access log (cli_serve.log_config) writes a link's path without its token."""
    config = log_config("text")
    formatter = logging.config.DictConfigurator(config).configure_custom(
        dict(config["formatters"]["access"]))
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1,
                               '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/login/link/SECRETtoken123?x=1",
                                "1.1", 200), None)
    hide = logging.config.DictConfigurator(config).configure_custom(
        dict(config["filters"]["links"]))
    assert config["handlers"]["access"]["filters"] == ["links"]
    assert hide.filter(record)
    line = formatter.format(record)
    assert "SECRETtoken123" not in line and '"GET /login/link/…?x=1 HTTP/1.1" 200' in line
