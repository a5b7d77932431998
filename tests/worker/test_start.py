"""A worker's start with the embedded broker (worker/__main__.py): it declares the queues
itself, again when another process declared one at the same moment (kombu's sqlalchemy
transport then fails on the queue table's unique name, which Celery's consumer treats as
unrecoverable)."""

from __future__ import annotations

import dataclasses

import sqlalchemy.exc

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
