"""Bug 6 on the command line: `serve` prints a token only when it creates the first instructor,
`users import --new-tokens` revokes the old ones, `users tokens list|revoke|rotate`."""

from __future__ import annotations

import csv
import io

from submissions_api import bootstrap
from submissions_api.cli import main
from submissions_api.security import user_for_token
from submissions_api.services.roster import Roster, RosterRow, parse_roster
from submissions_api.settings import Settings
from submissions_api.store.db import session_factory


def settings_for(tmp_path) -> Settings:
    s = Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'svc.db'}",
                 broker_url=f"sqla+sqlite:///{tmp_path / 'b.db'}")
    bootstrap.prepare_database(s)
    return s


def one(login: str, name: str, role: str) -> Roster:
    return Roster(rows=[RosterRow(2, login, name, role)])


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
    [(_, _, old, _, _)], _ = bootstrap.import_roster(s, one("alice", "A", "student"))
    [again], _ = bootstrap.import_roster(s, one("alice", "", "ta"), new_tokens=True)
    new = again.token
    assert again.summary == "updated (role, new token)"  # an empty name changes nothing
    assert new and new != old and alive(s, new) and not alive(s, old)


def test_cli_tokens_list_revoke_rotate(tmp_path, monkeypatch, capsys):
    s = settings_for(tmp_path)
    monkeypatch.setenv("MLPGRADE_HOME", str(s.home))
    monkeypatch.setenv("MLPGRADE_DATABASE_URL", s.database_url)
    [(_, _, old, _, _)], _ = bootstrap.import_roster(s, one("alice", "A", "student"))
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


CANVAS = """Student,ID,SIS User ID,SIS Login ID,Section,HW1 (123)
    Points Possible,,,,,100
"Lovelace, Ada",101,9001,ada,A,
"Turing, Alan",102,9002,alan@andrew.cmu.edu,A,
Bad Row,103,9003,,A,
"Hopper, Grace",104,9004,ada,B,
"""
GRADESCOPE = """First Name,Last Name,SID,Email,Role,Sections
Ada,Lovelace,1,ada@cmu.edu,Student,A
Tim,Tee,2,tim@cmu.edu,TA,
Bo,Gus,3,bo@cmu.edu,Wizard,
"""


def test_roster_parser_reads_lms_exports_with_line_errors():
    canvas = parse_roster(CANVAS)
    assert canvas.preset == "canvas"
    assert [(r.login, r.name, r.role) for r in canvas.rows] == [
        ("ada", "Lovelace, Ada", "student"), ("alan", "Turing, Alan", "student")]
    assert canvas.errors == ["line 5: no login (SIS Login ID is empty): fill it in, or choose "
                             "another column for the login", "line 6: ada is also on line 3"]
    gs = parse_roster(GRADESCOPE)
    assert gs.preset == "gradescope" and [(r.login, r.role) for r in gs.rows] == [
        ("ada", "student"), ("tim", "ta")]
    assert gs.errors == ["line 4: unknown role 'Wizard' (student, ta or instructor)"]
    mapped = parse_roster("Who,Full\nzed,Zed Z\n", mapping={"login": "Who", "name": "Full"})
    assert [(r.login, r.name, r.role) for r in mapped.rows] == [("zed", "Zed Z", "student")]
    assert "no column Nope" in parse_roster("a\n1\n", mapping={"login": "Nope"}).header_error


def test_cli_import_refuses_a_roster_with_bad_rows(tmp_path, monkeypatch, capsys):
    s = settings_for(tmp_path)
    monkeypatch.setenv("MLPGRADE_HOME", str(s.home))
    monkeypatch.setenv("MLPGRADE_DATABASE_URL", s.database_url)
    bad = tmp_path / "canvas.csv"
    bad.write_text(CANVAS)
    assert main(["users", "import", str(bad)]) == 2
    assert "line 5: no login" in capsys.readouterr().err
    good = tmp_path / "gs.csv"
    good.write_text(GRADESCOPE.replace("Wizard", "Instructor"))
    assert main(["users", "import", str(good)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["login"], r["role"]) for r in rows] == [("ada", "student"), ("tim", "ta"),
                                                       ("bo", "instructor")]
    assert all(alive(s, r["token"]) for r in rows)
