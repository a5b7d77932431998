"""The service core's storage: engine, tables, data access and migrations (no FastAPI)."""

# The similarity tables live in their own module; importing it here puts them in Base.metadata
# whenever the store is used (migrations and their drift check compare against it).
from submissions_api.store import (
    models_hints,  # noqa: F401 - its tables join Base.metadata
    models_hosts,  # noqa: F401 - its table joins Base.metadata
    models_lms,  # noqa: F401 - its tables join Base.metadata
    models_rubric,  # noqa: F401 - its tables join Base.metadata
    models_similarity,  # noqa: F401 - registers the tables
    models_staff,  # noqa: F401 - its tables join Base.metadata
    revision,  # noqa: F401 - its table joins Base.metadata, its session events listen
)
