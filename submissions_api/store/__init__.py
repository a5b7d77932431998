"""The service core's storage: engine, tables, data access and migrations (no FastAPI)."""

from submissions_api.store import models_staff  # noqa: F401 - its tables join Base.metadata
