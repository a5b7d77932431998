"""`mlpgrade users import` on the files LMSs export (issue 24 item 5 from the command line) and
`mlpgrade gradebook` (item 6): the Canvas export with its Test Student imports, an unknown
header names the `--map` to use, a re-import says what changed, the Moodle CSV comes out; no
control character reaches the terminal."""

from __future__ import annotations

import csv
import io

import pytest

from submissions_api.cli import main
from submissions_api.store import crud
from tests.api.test_rosters import FILES
from tests.api.test_staff import graded


@pytest.fixture
def cli(backend, monkeypatch, capsys):
    """Run `mlpgrade …` against the test's database: (exit code, stdout, stderr)."""
    monkeypatch.setenv("MLPGRADE_HOME", str(backend.home))
    monkeypatch.setenv("MLPGRADE_DATABASE_URL", backend.database_url)

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out = capsys.readouterr()
        return code, out.out, out.err
    return run


def outcomes(text: str) -> dict[str, dict[str, str]]:
    return {r["login"]: r for r in csv.DictReader(io.StringIO(text))}


def test_cli_imports_canvas_gradescope_and_moodle_exports(cli, sessions):
    code, out, err = cli("users", "import", str(FILES / "canvas-gradebook.csv"))
    assert code == 0, err
    assert "line 7: Canvas's Test Student (Student, Test), the course's student view (skipped)" \
        in err and "Canvas assignment 4816023" in err
    rows = outcomes(out)
    assert list(rows) == ["enguyen", "sobrien", "hito"]
    assert all(r["token"].startswith("mlp_") and r["outcome"] == "created" for r in rows.values())
    code, out, err = cli("users", "import", str(FILES / "gradescope-roster.csv"))
    assert code == 0, err
    rows = outcomes(out)
    assert rows["hito"]["outcome"] == "updated (name)" and not rows["hito"]["token"].startswith(
        "mlp_")
    assert rows["ada"]["outcome"] == "created"
    code, out, err = cli("users", "import", str(FILES / "moodle-participants.csv"))
    assert code == 0 and "line 5: Observer is not a member of the course (skipped)" in err
    assert outcomes(out)["praman"]["role"] == "ta"
    with sessions() as session:
        hito = crud.get_user_by_login(session, login="hito")
        assert (hito.name, hito.lms_id, hito.section) == ("Hana Ito", "98103",
                                                          "11-785 Section A and 11-785 Section B")


def test_cli_unknown_header_names_the_map_and_hostile_names_stay_out_of_the_terminal(
        cli, tmp_path):
    odd = tmp_path / "odd.csv"
    odd.write_text("Full Name,E-mail address\n\"Mal\x1b[2Jlory\",mal@x.edu\n")
    code, out, err = cli("users", "import", str(odd))
    assert code == 2 and out == ""
    assert '--map login="E-mail address" --map name="Full Name"' in err
    code, out, err = cli("users", "import", str(odd), "--map", "login=E-mail address",
                         "--map", "name=Full Name")
    assert code == 0, err
    assert outcomes(out)["mal"]["outcome"] == "created"
    code, out, err = cli("users", "import", str(odd), "--map", "nick=Full Name")
    assert code == 2 and "--map nick=Full Name: give FIELD=COLUMN" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("login,name\nev\x1b[2Jil,X\n")
    code, out, err = cli("users", "import", str(bad))
    assert code == 2 and "\x1b" not in err and "line 2: the login 'ev[2Jil' has" in err
    assert "nothing was imported" in err


def test_cli_gradebook_prints_the_lms_csvs(cli, sessions):
    assert cli("users", "import", str(FILES / "moodle-participants.csv"))[0] == 0
    graded(sessions, "enguyen", 95.0)
    code, out, err = cli("gradebook", "hw1p1-s20", "--format", "moodle")
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][:5] == ["Email address", "ID number", "Username", "Full name",
                           "HW1 Part 1: MyTorch (Spring 2020)"]
    assert ["enguyen@andrew.cmu.edu", "20261001", "enguyen", "Emma Nguyen", "95"] in rows
    assert cli("gradebook", "nope")[0] == 2
