"""Fingerprinting many hand-ins, in worker processes when there are cores to use."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

from grader.similarity.fingerprint import HandinPrint, Settings, fingerprint


def _one(args: tuple[dict[str, str], Settings]) -> HandinPrint:
    sources, settings = args
    return fingerprint(sources, settings)


def fingerprint_many(handins: dict[str, dict[str, str]], settings: Settings = Settings(),
                     jobs: int = 1) -> dict[str, HandinPrint]:
    """key → fingerprints of every hand-in (key → sources), in `jobs` processes."""
    if jobs <= 1 or len(handins) < 8:
        return {key: fingerprint(sources, settings) for key, sources in handins.items()}
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        done = pool.map(_one, [(s, settings) for s in handins.values()], chunksize=8)
        return dict(zip(handins, done, strict=True))
