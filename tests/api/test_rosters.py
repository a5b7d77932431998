"""Rosters as LMSs and graders export them (issue 24 item 5) and grades out as they import them
(item 6). The files in tests/api/rosters are written as those systems write them: Canvas's BOM,
CRLF, Manual Posting and Points Possible rows and Test Student; Moodle's quoted fields; the
Gradescope shapes; names with commas, quotes, right-to-left text and control characters."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from submissions_api.services import exports, roster_import
from submissions_api.services.roster import decode, parse_roster
from submissions_api.store import crud
from tests.api.test_staff import SLUG, graded
from tests.api.test_staff_pages import as_user

FILES = Path(__file__).parent / "rosters"
A = "/api/v1"


def read(name: str):
    return parse_roster((FILES / name).read_text(encoding="utf-8"))


def table(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_canvas_gradebook_export_skips_its_non_people_and_keeps_canvas_ids():
    r = read("canvas-gradebook.csv")
    assert (r.preset, r.errors, r.header_error, r.importable) == ("canvas", [], "", True)
    assert r.notes == ["line 2: Canvas's Manual Posting row (skipped)",
                       "line 3: Canvas's Points Possible row (skipped)",
                       "line 7: Canvas's Test Student (Student, Test), the course's student "
                       "view (skipped)"]
    assert [(x.login, x.name, x.lms_id, x.sis_user_id, x.sis_login_id, x.section)
            for x in r.rows] == [
        ("enguyen", "Nguyen, Emma", "98101", "20261001", "enguyen@andrew.cmu.edu",
         "11-785 Section A"),
        ("sobrien", "O'Brien, Seán", "98102", "20261002", "sobrien", "11-785 Section B"),
        ("hito", "Ito, Hana", "98103", "20261003", "hito@andrew.cmu.edu",
         "11-785 Section A and 11-785 Section B")]
    assert r.rows[0].email == "enguyen@andrew.cmu.edu" and r.rows[1].email == ""
    assert r.canvas_ids == {"HW1 Part 1: MyTorch (Spring 2020)": "4816023", "Quiz 1": "4816031"}


def test_gradescope_moodle_and_canvas_people_exports_are_recognised():
    gs = read("gradescope-roster.csv")  # Name, Email, SID: the literal Name fills the name
    assert gs.preset == "gradescope" and not gs.errors
    assert [(x.login, x.name, x.email, x.sis_user_id) for x in gs.rows] == [
        ("hito", "Hana Ito", "hito@andrew.cmu.edu", "20261003"),
        ("ada", "Lovelace, Ada", "ada@andrew.cmu.edu", "20261005"),
        ("ttee", "Tim Tee", "ttee@andrew.cmu.edu", "")]
    full = read("gradescope-roster-full.csv")
    assert [(x.login, x.name, x.role, x.section) for x in full.rows] == [
        ("hito", "Hana Ito", "student", "A"), ("ttee", "Tim Tee", "ta", ""),
        ("rreader", "Rae Reader", "ta", "")]
    moodle = read("moodle-participants.csv")
    assert moodle.preset == "moodle" and not moodle.errors
    assert [(x.login, x.name, x.role, x.sis_user_id, x.section) for x in moodle.rows] == [
        ("enguyen", "Emma Nguyen", "student", "20261001", "Lab 1"),
        ("yalamin", "Yusuf Al-Amin", "student", "20261006", "Lab 2"),
        ("praman", "Priya Raman", "ta", "", "")]
    assert moodle.notes == ["line 5: Observer is not a member of the course (skipped)"]
    people = read("canvas-users.csv")
    assert people.preset == "canvas-people"
    assert [(x.login, x.name, x.lms_id, x.sis_user_id) for x in people.rows] == [
        ("enguyen", "Nguyen, Emma", "98101", "20261001"),
        ("kwame.a", "Asante, Kwame", "98104", "20261004")]
    shown = parse_roster('"Name","User ID","Login ID","SIS ID","Section","Role"\n'
                         '"Ito, Hana","98103","hito","20261003","A","TA"\n')
    assert shown.preset == "canvas-people"
    assert [(x.login, x.name, x.lms_id, x.sis_user_id, x.role) for x in shown.rows] == [
        ("hito", "Ito, Hana", "98103", "20261003", "ta")]


def test_names_import_safely_and_an_unknown_header_says_which_columns_to_choose():
    ours = read("mlpgrade.csv")
    names = {x.login: x.name for x in ours.rows}
    assert names["ada"] == 'Lovelace, Ada "Countess"'
    assert names["yalamin"] == "يوسف الأمين" and names["noa"] == "נועה כהן"
    assert names["mallory"] == "Mal[2Jloryexe. txt"  # ESC, BEL, the bidi override, the tab
    unknown = parse_roster("Full Name,E-mail address,Student Number\nHana Ito,hito@x.edu,7\n")
    assert not unknown.rows and not unknown.errors and not unknown.importable
    assert unknown.header_error == (
        "this header is not one we recognise (Full Name, E-mail address, Student Number): "
        'choose which column holds the login (and the name), e.g. --map login="E-mail address" '
        '--map name="Full Name"')
    mapped = parse_roster("Full Name,E-mail address,Student Number\nHana Ito,HIto@x.edu,7\n",
                          mapping={"login": "E-mail address", "name": "Full Name"})
    assert [(x.login, x.name, x.email) for x in mapped.rows] == [("hito", "Hana Ito",
                                                                   "HIto@x.edu")]
    bad = parse_roster("login,name\nst/ud,X\n=HYPERLINK(1),Y\n")
    assert [e.split(":")[0] for e in bad.errors] == ["line 2", "line 3"]
    assert "has '/'" in bad.errors[0] and "has '(' ')' '='" in bad.errors[1]


def test_reimport_updates_known_users_and_keeps_their_tokens(backend, users, sessions):
    with sessions() as session:
        prof = crud.get_user_by_login(session, login="prof")
        first = roster_import.import_roster_as(session, prof, read("gradescope-roster.csv"))
        assert [(p.login, p.status) for p in first.people] == [
            ("hito", "created"), ("ada", "created"), ("ttee", "created")]
        assert all(p.token for p in first.people)
    sub = graded(sessions, "hito", 90.0)
    with sessions() as session:
        prof = crud.get_user_by_login(session, login="prof")
        again = roster_import.import_roster_as(session, prof, read("canvas-gradebook.csv"))
        by = {p.login: p for p in again.people}
        assert by["hito"].summary == "updated (name, section, lms_id, sis_login_id)"
        assert by["hito"].token is None  # the SID was Canvas's SIS User ID already
        assert by["enguyen"].status == "created"
        assert again.notes == ["HW1 Part 1: MyTorch (Spring 2020): Canvas assignment 4816023 "
                               "(the Canvas CSV now fills that column)"]
        same = roster_import.import_roster_as(session, prof, read("canvas-gradebook.csv"))
        assert {p.status for p in same.people} == {"unchanged"} and not same.notes
    with sessions() as session:
        hito = crud.get_user_by_login(session, login="hito")
        assert (hito.name, hito.email, hito.section) == (
            "Ito, Hana", "hito@andrew.cmu.edu", "11-785 Section A and 11-785 Section B")
        assert len([t for t in crud.list_tokens(session, user=hito) if not t.revoked_at]) == 1
        assert crud.get_submission(session, submission_id=sub).user_id == hito.id
        assert crud.get_assignment(session, slug=SLUG).canvas_assignment_id == "4816023"


def test_reimport_changes_roles_but_never_the_last_instructors(backend, users, sessions):
    text = "login,name,role\nprof,Prof,student\nalice,Alice,ta\nbob,Bob,\n"
    with sessions() as session:
        prof = crud.get_user_by_login(session, login="prof")
        out = roster_import.import_roster_as(session, prof, parse_roster(text))
        assert [p.summary for p in out.people] == [
            "unchanged (kept your own role)", "updated (role)", "unchanged"]
        out = roster_import.import_rows(session, parse_roster(text).rows)  # the command line
        assert out[0].summary == "unchanged (kept the last instructor's role)"


def test_canvas_csv_fills_canvas_column_with_canvas_ids(client, users, sessions):
    with sessions() as session:
        prof = crud.get_user_by_login(session, login="prof")
        roster_import.import_roster_as(session, prof, read("canvas-gradebook.csv"))
    graded(sessions, "enguyen", 95.0)
    reply = client.get(f"{A}/assignments/{SLUG}/gradebook.csv?format=canvas",
                       headers=users.headers("ta1"))
    rows = table(reply.text)
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                       "HW1 Part 1: MyTorch (Spring 2020) (4816023)"]
    by = {r[3]: r for r in rows[2:]}
    assert by["enguyen@andrew.cmu.edu"] == ["Nguyen, Emma", "98101", "20261001",
                                            "enguyen@andrew.cmu.edu", "11-785 Section A", "95"]
    assert by["sobrien"][:5] == ["O'Brien, Seán", "98102", "20261002", "sobrien",
                                 "11-785 Section B"] and by["sobrien"][5] == ""
    assert by["alice"] == ["Alice", "", "", "alice", "", ""]  # not from Canvas: our login


def test_moodle_csv_and_our_csv_speak_as_the_pages(client, users, sessions):
    with sessions() as session:
        prof = crud.get_user_by_login(session, login="prof")
        roster_import.import_roster_as(session, prof, read("moodle-participants.csv"))
    sub = graded(sessions, "enguyen", 95.0)
    with sessions() as session:
        s = crud.get_submission(session, submission_id=sub)
        s.late, s.late_penalty = True, 0.1
        session.commit()
    reply = client.get(f"{A}/assignments/{SLUG}/gradebook.csv?format=moodle&feedback=true",
                       headers=users.headers("ta1"))
    assert reply.status_code == 200 and "moodle.csv" in reply.headers["content-disposition"]
    rows = table(reply.text)
    assert rows[0] == [*exports.MOODLE_ID_COLUMNS, "HW1 Part 1: MyTorch (Spring 2020)",
                       "Feedback: HW1 Part 1: MyTorch (Spring 2020)"]
    by = {r[2]: r for r in rows[1:]}
    assert by["enguyen"][:5] == ["enguyen@andrew.cmu.edu", "20261001", "enguyen",
                                 "Emma Nguyen", "85.5"]
    assert by["enguyen"][5].startswith("automatic 95/95") and "− 10 % late" in by["enguyen"][5]
    assert by["alice"][4:] == ["", ""]
    ours = {r["login"]: r for r in csv.DictReader(io.StringIO(client.get(
        f"{A}/assignments/{SLUG}/gradebook.csv", headers=users.headers("ta1")).text))}
    assert (ours["enguyen"]["late"], ours["enguyen"]["late_penalty_percent"]) == ("late", "10")
    assert (ours["alice"]["late"], ours["alice"]["late_penalty_percent"]) == ("", "")


def test_canvas_assignment_id_on_the_settings_page_and_the_api(client, users, sessions):
    c = as_user(client, users, "prof")
    url = f"/staff/assignments/{SLUG}/settings"
    assert c.post(url, data={"canvas_assignment_id": "4816023"}).status_code in (200, 303)
    assert 'value="4816023"' in c.get(url).text
    page = c.post(url, data={"canvas_assignment_id": "12ab"})
    assert page.status_code == 422 and "Canvas assignment id (digits only)" in page.text
    reply = client.get(f"{A}/assignments/{SLUG}/gradebook.csv?format=canvas",
                       headers=users.headers("ta1"))
    assert table(reply.text)[0][5] == "HW1 Part 1: MyTorch (Spring 2020) (4816023)"
    reply = client.patch(f"{A}/assignments/{SLUG}", json={"canvas_assignment_id": None},
                         headers=users.headers("prof"))
    assert reply.status_code == 200 and reply.json()["canvas_assignment_id"] == ""


def test_rosters_saved_by_excel_read_the_same():
    text = 'login;name;role\r\nsobrien;"O\'Brien, Seán";student\r\nzoe;Zoë Ng;ta\r\n'
    for data in (text.encode("cp1252"), b"\xef\xbb\xbf" + text.encode(),
                 text.replace(";", "\t").encode("cp1252")):
        r = parse_roster(decode(data))
        assert [(x.login, x.name, x.role) for x in r.rows] == [
            ("sobrien", "O'Brien, Seán", "student"), ("zoe", "Zoë Ng", "ta")], data
