"""Who an LMS person is here (lms/identity.py, shared by the launch and the roster sync): roles,
logins in the login alphabet, safe names; and the Retry-After the passback honours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from submissions_api.lms.advantage import next_link, retry_after, scores_url
from submissions_api.lms.identity import derive_login, role_of, safe_text
from submissions_api.logins import is_login

M = "http://purl.imsglobal.org/vocab/lis/v2/membership"


def test_roles_from_the_lms():
    assert role_of([f"{M}#Learner"]) == "student"
    assert role_of([f"{M}#Instructor"]) == "instructor"
    assert role_of([f"{M}#Instructor", f"{M}/Instructor#TeachingAssistant"]) == "ta"
    assert role_of([f"{M}#ContentDeveloper"]) == "ta"
    assert role_of(["Instructor"]) == "instructor"  # NRPS's short names
    # an institution's administrator is not the course's staff
    assert role_of(["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator",
                    f"{M}#Learner"]) == "student"
    assert role_of([f"{M}#Mentor"]) == "student"


def test_logins_are_url_safe_unique_and_stable():
    taken = {"jdoe", "jdoe-2"}
    assert derive_login({"lis_person_sourcedid": "JDoe"}, issuer="i", sub="1",
                        taken=taken.__contains__) == "jdoe-3"
    assert derive_login({"email": "zoë.ås@x.edu"}, issuer="i", sub="2",
                        taken=taken.__contains__) == "zoe.as"
    odd = derive_login({"name": "=HYPERLINK(\"a/b\")"}, issuer="i", sub="3",
                       taken=taken.__contains__)
    assert is_login(odd) and "/" not in odd and not odd.startswith("=")
    nothing = derive_login({"name": "محمد"}, issuer="i", sub="4", taken=taken.__contains__)
    assert nothing.startswith("lti-") and nothing == derive_login(
        {}, issuer="i", sub="4", taken=taken.__contains__)  # the same person, the same login
    long = derive_login({"name": "x" * 300}, issuer="i", sub="5", taken=taken.__contains__)
    assert is_login(long) and len(long) <= 100


def test_names_lose_control_and_override_characters_only():
    assert safe_text("O'Brien, \"Mary\"") == "O'Brien, \"Mary\""
    assert safe_text("\u202etxt.exe\u202c\x00\x1b[31m") == "txt.exe[31m"
    assert safe_text("שלום  עולם\r\n") == "שלום עולם"
    assert safe_text(None) == "" and len(safe_text("a" * 500)) == 200


def test_retry_after_seconds_or_date_and_link_headers():
    assert retry_after("30") == 30.0 and retry_after(None) is None
    assert retry_after("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    assert 80 < retry_after(later) <= 90
    assert next_link(['<https://lms/C1/Members?Page=2>; rel="next", <https://lms/x>; rel="last"']
                     ) == "https://lms/C1/Members?Page=2"
    assert next_link(['<https://lms/x>; rel="prev"']) is None
    assert scores_url("https://lms/li/7?type=A") == "https://lms/li/7/scores?type=A"
