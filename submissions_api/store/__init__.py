"""The service core's storage: engine, tables, data access and migrations (no FastAPI)."""
