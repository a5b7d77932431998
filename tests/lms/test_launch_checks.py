"""Each check of an LTI 1.3 launch fails closed: a 403 page naming the check, no sign-in cookie,
no account. The launches come through a real login (real state and nonce); the id_tokens are
signed by the test platform's keys (or deliberately by others)."""

from __future__ import annotations

import base64
import json
import time

import httpx

from submissions_api.lms.registry import PlatformFields, add_platform
from tests.lms.conftest import (
    assert_refused,
    authorize_url,
    forge_form,
    forged,
    form_fields,
    launch,
)
from tests.lms.platform import CLAIM, new_private_key


def test_launch_refused_forged_signature(client, lms, sessions):
    """Signed by another key under the platform's own kid."""
    answer = forged(client, lms, "alice-lms", private_pem=new_private_key(),
                       headers={"kid": lms.kid})
    assert_refused(answer, "signature", sessions)


def test_launch_refused_unsigned_alg_none(client, lms, sessions):
    def b64(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    form = forge_form(client, lms, "alice-lms")
    body = json.loads(base64.urlsafe_b64decode(form["id_token"].split(".")[1] + "=="))
    form["id_token"] = f"{b64({'alg': 'none', 'kid': lms.kid})}.{b64(body)}."
    assert_refused(client.post("/lti/launch", data=form), "signature", sessions)


def test_launch_refused_expired(client, lms, sessions):
    long_ago = int(time.time()) - 3600
    answer = forged(client, lms, "alice-lms", iat=long_ago, lifetime=300)
    assert_refused(answer, "exp", sessions)


def test_launch_refused_iat_in_future(client, lms, sessions):
    answer = forged(client, lms, "alice-lms", iat=int(time.time()) + 600)
    assert_refused(answer, "iat", sessions)


def test_launch_refused_replay_same_id_token_and_state(client, lms, sessions):
    auth = authorize_url(client, lms, "alice-lms")
    login_cookies = {c.name: c.value for c in client.cookies.jar if c.name.startswith("lti1p3")}
    form = form_fields(httpx.get(auth).text)
    assert client.post("/lti/launch", data=form, follow_redirects=False).status_code == 303
    client.cookies.clear()  # replayed by someone else: no login cookies
    assert_refused(client.post("/lti/launch", data=form), "state", sessions, accounts=1)
    for name, value in login_cookies.items():  # replayed from the browser of the login
        client.cookies.set(name, value)
    assert_refused(client.post("/lti/launch", data=form), "nonce", sessions, accounts=1)


def test_launch_refused_nonce_not_given_to_this_browser(client, lms, sessions):
    answer = forged(client, lms, "alice-lms", change=lambda c: c.update(nonce="n-other"))
    assert_refused(answer, "nonce", sessions)


def test_launch_refused_wrong_audience(client, lms, sessions):
    answer = forged(client, lms, "alice-lms",
                       change=lambda c: c.update(aud="someone-else", azp="someone-else"))
    assert_refused(answer, "aud", sessions)


def test_launch_refused_wrong_azp(client, lms, sessions):
    answer = forged(client, lms, "alice-lms", change=lambda c: c.update(
        aud=[lms.client_id, "another-tool"], azp="another-tool"))
    assert_refused(answer, "azp", sessions)


def test_launch_refused_several_audiences_without_azp(client, lms, sessions):
    def change(claims):
        claims["aud"] = [lms.client_id, "another-tool"]
        del claims["azp"]
    answer = forged(client, lms, "alice-lms", change=change)
    assert_refused(answer, "azp", sessions)


def test_launch_refused_unknown_issuer(client, lms, sessions):
    answer = forged(client, lms, "alice-lms",
                       change=lambda c: c.update(iss="https://evil.example"))
    assert_refused(answer, "iss", sessions)


def test_login_refused_unknown_issuer(client, lms, sessions):
    answer = client.get("/lti/login", params={
        "iss": "https://evil.example", "login_hint": "x", "target_link_uri": "/"})
    assert_refused(answer, "iss", sessions)
    assert not any(c.name.startswith("lti1p3-") for c in client.cookies.jar)


def test_launch_refused_wrong_deployment(client, lms, sessions):
    answer = forged(client, lms, "alice-lms",
                       change=lambda c: c.update({CLAIM + "deployment_id": "not-ours"}))
    assert_refused(answer, "deployment", sessions)


def test_launch_refused_wrong_message_type(client, lms, sessions):
    answer = forged(client, lms, "alice-lms", change=lambda c: c.update(
        {CLAIM + "message_type": "LtiSubmissionReviewRequest"}))
    assert_refused(answer, "message", sessions)


def test_launch_refused_wrong_version(client, lms, sessions):
    answer = forged(client, lms, "alice-lms",
                       change=lambda c: c.update({CLAIM + "version": "1.1"}))
    assert_refused(answer, "message", sessions)


def test_launch_refused_state_cookie_missing(client, lms, sessions):
    auth = authorize_url(client, lms, "alice-lms")
    form = form_fields(httpx.get(auth).text)
    client.cookies.clear()
    assert_refused(client.post("/lti/launch", data=form), "state", sessions)


def test_launch_refused_state_mismatch(client, lms, sessions):
    auth = authorize_url(client, lms, "alice-lms")
    form = form_fields(httpx.get(auth).text)
    authorize_url(client, lms, "alice-lms")  # another login in the same browser
    form["state"] = "state-not-the-one-given"
    assert_refused(client.post("/lti/launch", data=form), "state", sessions)


def test_launch_key_rotation_refetches_and_unknown_kid_refused(client, lms, sessions):
    assert launch(client, lms, "alice-lms").status_code == 303  # caches the first key
    old_kid, new_kid = lms.kid, lms.rotate()
    assert new_kid != old_kid
    answer = launch(client, lms, "prof-lms")  # signed with the new kid: fetched again
    assert answer.status_code == 303, answer.text
    stranger = new_private_key()  # a kid in no key set of the platform
    answer = forged(client, lms, "ta-lms", private_pem=stranger)
    assert_refused(answer, "signature", sessions, accounts=2)
    answer = forged(client, lms, "ta-lms", headers={"kid": old_kid},
                       private_pem=new_private_key())  # the retired kid: no longer published
    assert_refused(answer, "signature", sessions, accounts=2)


def test_launch_refused_deployment_of_another_client_id(client, lms, sessions):
    """A second platform with the same issuer but another client id does not make the first
    one's launches valid for it (lookup by issuer and client id)."""
    with sessions() as session:
        add_platform(session, PlatformFields(
            issuer=lms.issuer, client_id="other-client", deployment_ids=("deployment-9",),
            auth_login_url=f"{lms.url}/authorize", auth_token_url=f"{lms.url}/token",
            key_set_url=f"{lms.url}/jwks"))
        session.commit()
    answer = forged(client, lms, "alice-lms", change=lambda c: c.update(
        {CLAIM + "deployment_id": "deployment-9"}))
    assert_refused(answer, "deployment", sessions)


def test_login_refused_unregistered_deployment_or_missing_hint(client, lms, sessions):
    base = {"iss": lms.issuer, "client_id": lms.client_id, "login_hint": "x",
            "target_link_uri": "http://testserver/lti/launch"}
    answer = client.get("/lti/login", params={**base, "lti_deployment_id": "not-ours"})
    assert_refused(answer, "deployment", sessions)
    answer = client.post("/lti/login", data={**base, "login_hint": ""})
    assert_refused(answer, "login", sessions)
    assert not any(c.name.startswith("lti1p3-") for c in client.cookies.jar)
