"""Typed path and query parameters shared by the routes, bounded by what the database can hold:
an id past PostgreSQL's INTEGER made the driver raise (a 500) instead of a 404 or 422."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

MAX_ID = 2**31 - 1  # PostgreSQL INTEGER; SQLite's 64-bit limit is wider

Id = Annotated[int, Path(ge=1, le=MAX_ID, description="a row id")]
Limit = Annotated[int, Query(ge=0, description="at most this many rows (1000 at most are sent)")]
Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="rows to skip")]
