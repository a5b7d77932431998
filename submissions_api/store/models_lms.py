"""Tables of the course's LMS: LTI 1.3 platforms the tool is registered with, who a launch is
(issuer + `sub`, never an e-mail alone), the LMS's courses (contexts) and the links placed in
them, the tool's own signing keys, nonces already used, the score outbox (AGS passback), and the
one-time sign-in links mailed to students of courses without an LMS."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from submissions_api.store.models import Assignment, Base, User, UTCDateTime, utcnow


class LtiPlatform(Base):
    """An LMS (Canvas, Moodle, ...) as registered by an instructor: who signs its launches and
    where its endpoints are."""

    __tablename__ = "lti_platforms"
    __table_args__ = (UniqueConstraint("issuer", "client_id", name="uq_lti_platform"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    issuer: Mapped[str] = mapped_column(String(255))
    client_id: Mapped[str] = mapped_column(String(255))
    auth_login_url: Mapped[str] = mapped_column(Text)
    """The platform's OIDC authorization endpoint (where the tool sends the browser back)."""
    auth_token_url: Mapped[str] = mapped_column(Text)
    """The platform's OAuth 2 token endpoint (client credentials, for AGS and NRPS)."""
    key_set_url: Mapped[str] = mapped_column(Text)
    """The platform's JWKS: its launch signatures are checked against these keys."""
    auth_audience: Mapped[str] = mapped_column(Text, default="")
    """The `aud` of the tool's client assertion when not the token URL (Moodle, Blackboard)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deployments: Mapped[list[LtiDeployment]] = relationship(
        back_populates="platform", cascade="all, delete-orphan")


class LtiDeployment(Base):
    """A deployment id of a platform: a launch naming any other is refused."""

    __tablename__ = "lti_deployments"
    __table_args__ = (UniqueConstraint("platform_id", "deployment_id", name="uq_lti_deployment"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"),
                                             index=True)
    deployment_id: Mapped[str] = mapped_column(String(255))
    platform: Mapped[LtiPlatform] = relationship(back_populates="deployments")


class LtiIdentity(Base):
    """Who a launch is: the platform's issuer and its `sub` for the person, mapped to our user."""

    __tablename__ = "lti_identities"
    __table_args__ = (UniqueConstraint("issuer", "sub", name="uq_lti_identity"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    sub: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user: Mapped[User] = relationship()


class LtiContext(Base):
    """A course of a platform, with its NRPS memberships URL and AGS line-items URL (as its
    launches name them) and when its roster was last synced."""

    __tablename__ = "lti_contexts"
    __table_args__ = (UniqueConstraint("platform_id", "context_id", name="uq_lti_context"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"),
                                             index=True)
    context_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(255), default="")
    memberships_url: Mapped[str] = mapped_column(Text, default="")
    lineitems_url: Mapped[str] = mapped_column(Text, default="")
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sync_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    """What the last roster sync changed (or why it failed), for staff."""
    platform: Mapped[LtiPlatform] = relationship()


class LtiResourceLink(Base):
    """A link placed in a course (by deep linking, or by hand), bound to one of our assignments;
    `lineitem_url` is the gradebook column its scores go to (given by the platform, or made by
    us with the assignment's maximum)."""

    __tablename__ = "lti_resource_links"
    __table_args__ = (UniqueConstraint("platform_id", "resource_link_id",
                                       name="uq_lti_resource_link"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"),
                                             index=True)
    context_pk: Mapped[int | None] = mapped_column(
        ForeignKey("lti_contexts.id", ondelete="CASCADE"), nullable=True, index=True)
    resource_link_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(255), default="")
    assignment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assignments.id", ondelete="SET NULL"), nullable=True, index=True)
    lineitem_url: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    platform: Mapped[LtiPlatform] = relationship()
    context: Mapped[LtiContext | None] = relationship()
    assignment: Mapped[Assignment | None] = relationship()


class LtiKey(Base):
    """The tool's RSA signing key (client assertions, deep-linking responses); its public half is
    served at the tool's JWKS URL. Kept in the database so every process signs with the same."""

    __tablename__ = "lti_keys"
    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_pem: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LtiNonce(Base):
    """A launch nonce already used (a replayed id_token is refused), kept until it expires."""

    __tablename__ = "lti_nonces"
    nonce: Mapped[str] = mapped_column(String(255), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ScoreOutbox(Base):
    """The AGS outbox: one row per (resource link, student), written in the transaction that
    changes the student's score (`version` moves on); the bulk worker sends the score that counts
    *now* and marks `sent_version`, so a later change is sent again and the last score wins."""

    __tablename__ = "lti_score_outbox"
    __table_args__ = (UniqueConstraint("resource_link_pk", "user_id", name="uq_lti_outbox"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_link_pk: Mapped[int] = mapped_column(
        ForeignKey("lti_resource_links.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    sent_version: Mapped[int] = mapped_column(Integer, default=0)
    tries: Mapped[int] = mapped_column(Integer, default=0)
    """Failed sends of the current version (the backoff grows with it)."""
    next_try_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    """The platform's answer to the last failed send (staff see it)."""
    sent_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SignInLink(Base):
    """A one-time sign-in link mailed to a user: only its sha256 is kept; it expires and works
    once. A row is made `queued` (no token yet) when staff or the user ask for it; the sender
    (the bulk worker, or `mlpgrade users invite`) mints the token, mails it and records `sent`,
    or `failed` with the mail server's answer (staff see it and can send again)."""

    __tablename__ = "sign_in_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    """The sha256 of the link's token; None until the sender mints it (and again after a
    failed send: that token never reached anyone)."""
    sent_to: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(10), default="queued", index=True)
    """queued, sent or failed (submissions_api/sign_in_links.py)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    """The mail server's answer to the last failed send."""
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    requested_by: Mapped[str] = mapped_column(String(100), default="")
    """The staff login that sent it, or empty when the user asked for it themselves."""
    user: Mapped[User] = relationship()
