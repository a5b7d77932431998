"""Golden sets: `store` (the folder format, and the command line's local store), `archive` (the
bytes the service keeps), `canary` (making one from the reference, and verifying it)."""
