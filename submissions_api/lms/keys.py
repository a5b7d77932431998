"""The tool's signing key: one RSA key, made on first use and kept in the database (every API
process and worker signs with the same), whose public half the JWKS URL serves. Platforms read
it to check our client assertions (AGS, NRPS) and deep-linking responses."""

from __future__ import annotations

from typing import Any

from joserfc.jwk import RSAKey
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from submissions_api.store.models_lms import LtiKey

ALG = "RS256"


def _load(row: LtiKey) -> RSAKey:
    return RSAKey.import_key(row.private_pem,
                             parameters={"kid": row.kid, "use": "sig", "alg": ALG})


def signing_key(session: Session) -> RSAKey:
    """The active private key (made and committed on first use). Two processes making it at
    once (the bulk worker's first score send and its sender thread, an API's JWKS) name it the
    same (`mlpgrade-<n>`, n = keys made so far + 1), so the second insert fails on the key's
    primary key and takes the first's: there is never a second key, which a platform that has
    cached our key set would refuse."""
    row = session.scalars(select(LtiKey).where(LtiKey.active).order_by(LtiKey.created_at)
                          ).first()
    if row is not None:
        return _load(row)
    made = session.scalar(select(func.count()).select_from(LtiKey)) or 0
    key = RSAKey.generate_key(2048, private=True)
    row = LtiKey(kid=f"mlpgrade-{made + 1}", private_pem=key.as_pem(private=True).decode())
    try:
        with session.begin_nested():
            session.add(row)
        session.commit()
    except IntegrityError:  # made meanwhile by another: keep theirs
        session.rollback()
        return signing_key(session)
    return _load(row)


def public_jwks(session: Session) -> dict[str, Any]:
    """The JWKS document: the public half of every key still active."""
    signing_key(session)
    rows = session.scalars(select(LtiKey).where(LtiKey.active)).all()
    return {"keys": [_load(r).as_dict(private=False) for r in rows]}
