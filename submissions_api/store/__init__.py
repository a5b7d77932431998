"""The service core's storage: engine, tables, data access and migrations (no FastAPI)."""

# Each concept's tables live in their own models module; importing them here puts them in
# Base.metadata whenever the store is used (migrations and their drift check compare against it).
from submissions_api.store import (
    models_golden,  # noqa: F401 - its table joins Base.metadata
    models_grading,  # noqa: F401 - its tables join Base.metadata
    models_hints,  # noqa: F401 - its tables join Base.metadata
    models_hosts,  # noqa: F401 - its table joins Base.metadata
    models_lms,  # noqa: F401 - its tables join Base.metadata
    models_manual,  # noqa: F401 - its tables join Base.metadata
    models_rubric,  # noqa: F401 - its tables join Base.metadata
    models_similarity,  # noqa: F401 - its tables join Base.metadata
    revision,  # noqa: F401 - its table joins Base.metadata, its session events listen
)
