"""Instructors' users page: add users, change roles, rotate tokens, revoke access, and import a
roster (our CSV or an LMS or grader export: preview, then import; a header we do not know gets
a choice of its columns). Tokens are shown once, on the page that made them, with a CSV of
them made in the page."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import File, Form, Request, UploadFile
from sqlalchemy.orm import Session

from submissions_api import sign_in_links
from submissions_api.deps import DispatcherDep, PageUser, SessionDep, SettingsDep
from submissions_api.errors import ServiceError
from submissions_api.pages.base import page_router, render, see_other
from submissions_api.services import invitations, roster_import
from submissions_api.services import users as service
from submissions_api.services.csvout import write_csv
from submissions_api.services.roster import decode, parse_roster
from submissions_api.services.roster_formats import FORMATS, MAPPABLE
from submissions_api.services.roster_import import Imported
from submissions_api.store.models import User

router = page_router()
MAX_ROSTER_BYTES = 2 * 1024 * 1024


def _page(request: Request, session: Session, user: User, *, status_code: int = 200,
          **context):
    settings = request.app.state.settings
    return render(request, "users.html", status_code=status_code, title="Users",
                  users=service.users_overview(session, user), roles=service.ROLES,
                  formats=FORMATS, me=user,
                  links=invitations.overview(session, user),
                  mail_problem=sign_in_links.mail_problem(settings), **context)


@router.get("/staff/users")
def users_page(request: Request, user: PageUser, session: SessionDep):
    return _page(request, session, user, saved=request.query_params.get("saved"))


@router.post("/staff/users")
def add_user(request: Request, user: PageUser, session: SessionDep, login: str = Form(),
             name: str = Form(""), role: str = Form("student"), email: str = Form("")):
    try:
        new, token = service.create_user(session, user, login=login.strip(), name=name.strip(),
                                         role=role if role in service.ROLES else "student",
                                         email=email)
    except ServiceError as exc:
        session.rollback()
        return _page(request, session, user, status_code=exc.status, error=exc.message,
                     add_form={"login": login, "name": name, "role": role, "email": email})
    tokens = [Imported(new.login, new.role, token, "created")]
    return _page(request, session, user, tokens=tokens, tokens_csv=_tokens_csv(tokens))


@router.post("/staff/users/{login}/role")
def change_role(login: str, user: PageUser, session: SessionDep, role: str = Form()):
    service.update_user(session, user, login, role=role)
    return see_other(f"/staff/users?saved={login}")


@router.post("/staff/users/{login}/rotate")
def rotate(login: str, request: Request, user: PageUser, session: SessionDep):
    target, token = service.rotate_token(session, user, login)
    tokens = [Imported(target.login, target.role, token, "new token")]
    return _page(request, session, user, tokens=tokens, tokens_csv=_tokens_csv(tokens))


@router.post("/staff/users/{login}/revoke")
def revoke(login: str, user: PageUser, session: SessionDep):
    service.revoke_user(session, user, login)
    return see_other(f"/staff/users?saved={login}")


@router.post("/staff/users/roster")
def roster(request: Request, user: PageUser, session: SessionDep,
           file: UploadFile | None = File(None), text: str = Form(""),
           preset: str = Form(""), map_login: str = Form(""), map_name: str = Form(""),
           map_first: str = Form(""), map_last: str = Form(""), map_role: str = Form(""),
           map_email: str = Form(""), map_section: str = Form(""),
           step: str = Form("preview")):
    """Preview a roster (rows, skipped rows, errors, the columns it was read with, who is new);
    import it when asked and every row is good: new users get tokens, known ones are updated."""
    if file is not None and file.filename:
        text = decode(file.file.read(MAX_ROSTER_BYTES + 1))
    if len(text) > MAX_ROSTER_BYTES:
        return _page(request, session, user, status_code=413, error="The roster is over 2 MiB.")
    chosen = {"login": map_login, "name": map_name, "first": map_first, "last": map_last,
              "role": map_role, "email": map_email, "section": map_section}
    parsed = parse_roster(text, preset=preset, mapping={k: v for k, v in chosen.items() if v})
    if step == "import" and parsed.importable:
        result = roster_import.import_roster_as(session, user, parsed)
        return _page(request, session, user, imported=result, roster_label=parsed.label,
                     tokens_csv=_tokens_csv(result.people))
    known = {u.login for u, _ in service.users_overview(session, user)}
    return _page(request, session, user, roster=parsed, roster_text=text, known=known,
                 fields=MAPPABLE, status_code=422 if step == "import" else 200)


def _tokens_csv(people: list[Imported]) -> str:
    """The new tokens as a CSV download link's `data:` URL: the page shows them once and keeps
    them nowhere, so the file is made in the page itself."""
    text = write_csv(("login", "role", "token"),
                     [(p.login, p.role, p.token) for p in people if p.token])
    return "data:text/csv;charset=utf-8," + quote(text)


@router.post("/staff/users/invitations")
def invite(request: Request, user: PageUser, session: SessionDep, settings: SettingsDep,
           dispatcher: DispatcherDep, login: list[str] = Form([]), scope: str = Form("chosen")):
    """Mail sign-in links to the ticked users, or to every student not signed in yet."""
    try:
        if scope == "resend":
            summary = invitations.resend(session, settings, dispatcher, user)
        else:
            summary = invitations.invite(session, settings, dispatcher, user, logins=login,
                                         everyone=scope == "everyone")
    except ServiceError as exc:
        session.rollback()
        return _page(request, session, user, status_code=exc.status, error=exc.message)
    return _page(request, session, user, invited=summary.sentences(settings))
