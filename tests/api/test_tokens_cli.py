"""Bug 6 on the command line: `serve` prints a token only when it creates the first instructor,
`users import --new-tokens` revokes the old ones, `users tokens list|revoke|rotate`."""

from __future__ import annotations

import csv
import io

from submissions_api import bootstrap
from submissions_api.cli import main
from submissions_api.security import user_for_token
from submissions_api.settings import Settings
from submissions_api.store.db import session_factory


def settings_for(tmp_path) -> Settings:
    s = Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'svc.db'}",
                 broker_url=f"sqla+sqlite:///{tmp_path / 'b.db'}")
    bootstrap.prepare_database(s)
    return s


def alive(settings, token) -> bool:
    with session_factory(settings.database_url)() as session:
        return user_for_token(session, token=token) is not None


def test_serve_restart_mints_no_new_instructor_token(tmp_path):
    s = settings_for(tmp_path)
    first = bootstrap.instructor_token(s)
    assert first and alive(s, first)
    assert bootstrap.instructor_token(s) is None  # a restart: nothing new is valid
    with session_factory(s.database_url)() as session:
        from submissions_api.store import crud
        user = crud.get_user_by_login(session, login="instructor")
        assert len(crud.list_tokens(session, user=user)) == 1


def test_import_new_tokens_revokes_old_ones(tmp_path):
    s = settings_for(tmp_path)
    [(_, _, old)] = bootstrap.import_roster(s, [{"login": "alice", "name": "A"}])
    [(_, _, new)] = bootstrap.import_roster(s, [{"login": "alice"}], new_tokens=True)
    assert new and new != old and alive(s, new) and not alive(s, old)


def test_cli_tokens_list_revoke_rotate(tmp_path, monkeypatch, capsys):
    s = settings_for(tmp_path)
    monkeypatch.setenv("MLPGRADE_HOME", str(s.home))
    monkeypatch.setenv("MLPGRADE_DATABASE_URL", s.database_url)
    [(_, _, old)] = bootstrap.import_roster(s, [{"login": "alice"}])
    capsys.readouterr()
    assert main(["users", "tokens", "rotate", "alice"]) == 0
    new = capsys.readouterr().out.strip().splitlines()[-1].split(",")[-1]
    assert alive(s, new) and not alive(s, old)
    assert main(["users", "tokens", "list", "alice"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["revoked_at"] == "" for r in rows] == [True, False]
    assert main(["users", "tokens", "revoke", "alice", "--all"]) == 0
    assert not alive(s, new)
    assert main(["users", "tokens", "list", "nobody"]) == 2
