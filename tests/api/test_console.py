"""Issue 29 item 7: every command-line failure is one line saying what to do, with its
documented exit status; `serve --help` shows every option's default and help."""

from __future__ import annotations

import argparse

import pytest

from grader.cli import ExitCode
from submissions_api.cli import build_parser, main
from tests.api.services import free_port


def test_grade_with_an_unknown_sandbox_is_a_usage_error_listing_choices(capsys, tmp_path):
    tar = tmp_path / "handin.tar"
    tar.write_bytes(b"")
    with pytest.raises(SystemExit) as exit_:
        main(["grade", str(tar), "--sandbox", "foo"])
    assert exit_.value.code == ExitCode.USAGE
    assert "invalid choice: 'foo' (choose from 'bwrap', 'docker', 'process')" in \
        capsys.readouterr().err


def test_submit_to_an_unreachable_server_is_one_line(capsys, tmp_path):
    tar = tmp_path / "handin.tar"
    tar.write_bytes(b"x")
    code = main(["submit", str(tar), "--server", f"http://127.0.0.1:{free_port()}",
                 "--token", "t"])
    err = capsys.readouterr().err
    assert code == ExitCode.INFRASTRUCTURE
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "cannot reach" in err and "--server" in err


def test_serve_refuses_a_data_folder_without_the_student_runtime(capsys, tmp_path,
                                                                  monkeypatch):
    monkeypatch.setenv("MLPGRADE_HOME", str(tmp_path / "new"))
    monkeypatch.delenv("MLPGRADE_RUNTIME", raising=False)
    monkeypatch.setenv("MLPGRADE_SANDBOX", "bwrap")
    assert main(["serve", "--port", str(free_port())]) == ExitCode.INFRASTRUCTURE
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"MLPGRADE_HOME={tmp_path / 'new'} " in err
    assert "runtime install --assignment hw1p1-s20" in err
    assert not (tmp_path / "new" / "service.db").exists()  # refused before anything was made


def test_serve_help_shows_every_default():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    text = sub.choices["serve"].format_help()
    for option in ("--host", "--port", "--no-worker", "--concurrency", "--api-workers",
                   "--access-log"):
        assert option in text
    assert "(default: 8000)" in text and "(default: 127.0.0.1)" in text
    assert "MLPGRADE_HOME" in text


def test_every_option_of_every_command_has_help():
    def walk(parser, name):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for child, p in action.choices.items():
                    yield from walk(p, f"{name} {child}")
            else:
                yield name, action
    missing = [(name, a.dest) for name, a in walk(build_parser(), "mlpgrade") if not a.help]
    assert missing == []


def test_a_database_that_cannot_be_reached_is_one_line(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("MLPGRADE_HOME", str(tmp_path))
    monkeypatch.setenv("MLPGRADE_DATABASE_URL",
                       f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none")
    assert main(["users", "tokens", "list", "alice"]) == ExitCode.INFRASTRUCTURE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "MLPGRADE_DATABASE_URL" in err
