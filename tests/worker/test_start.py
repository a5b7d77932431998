"""A worker's start with the embedded broker (worker/__main__.py): it declares the queues
itself, again when another process declared one at the same moment (kombu's sqlalchemy
transport then fails on the queue table's unique name, which Celery's consumer treats as
unrecoverable), and the broker's file is in WAL."""

from __future__ import annotations

import dataclasses
import sqlite3
import time
from contextlib import closing

import sqlalchemy.exc
from kombu import Connection

import worker.__main__ as start
from submissions_api.jobs import Dispatcher


def test_a_declaration_race_is_declared_again(monkeypatch, tmp_path):
    monkeypatch.setattr(start, "settings", dataclasses.replace(
        start.settings, broker_url=f"sqla+sqlite:///{tmp_path / 'broker.db'}"))
    calls = []
    original = Dispatcher.declare_queues

    def racing(self):
        calls.append(1)
        if len(calls) < 3:  # another process inserted the same queue name first
            raise sqlalchemy.exc.IntegrityError("INSERT INTO kombu_queue", {}, Exception())
        original(self)

    monkeypatch.setattr(Dispatcher, "declare_queues", racing)
    start.declare_queues()
    assert len(calls) == 3
    assert (tmp_path / "broker.db").is_file()  # the last attempt declared them for real


def test_the_embedded_broker_is_in_wal_so_a_long_reader_never_locks_it_up(tmp_path):
    """In SQLite's rollback journal, a reader that holds the broker's file past the busy timeout
    made a consumer's commit fail, and kombu kept that transaction and its lock: nothing could
    read the broker again. The file the service's Dispatcher prepares is in WAL, where a consumer
    takes a message while a reader holds the file longer than the consumer's busy timeout."""
    path = tmp_path / "broker.db"
    settings = dataclasses.replace(start.settings, broker_url=f"sqla+sqlite:///{path}")
    Dispatcher(settings).declare_queues()
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)

    with Connection(settings.broker_url, transport_options={"connect_args": {"timeout": 0.5}}) \
            as connection:
        channel = connection.channel()
        channel._put(settings.live_queue, {"body": "job"})
        reader = sqlite3.connect(path, isolation_level=None)
        reader.execute("BEGIN")
        reader.execute("SELECT * FROM kombu_message").fetchall()  # holds the file from now on
        time.sleep(0.6)
        assert channel._get(settings.live_queue) == {"body": "job"}
        reader.execute("COMMIT")
        reader.close()
        with closing(sqlite3.connect(path, timeout=0.5)) as fresh:
            assert fresh.execute("SELECT count(*) FROM kombu_message WHERE visible = 1") \
                .fetchone() == (0,)
