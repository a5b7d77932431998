"""The platforms' public keys (their JWKS), cached per key-set URL in this process: a launch is
checked against the cached keys, and when it names a `kid` the cache does not hold (the platform
rotated its key; Canvas does) the key set is fetched again before the launch is refused. Forced
fetches are rate-limited so that launches naming made-up kids cannot make us hammer the platform.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

import httpx

TTL_SECONDS = 3600.0
"""A key set older than this is fetched again on the next launch."""
FORCED_PER_MINUTE = 10
"""At most this many re-fetches a minute for unknown kids, per key-set URL."""
FETCH_TIMEOUT = 10.0


class KeySetError(Exception):
    """The platform's key set could not be fetched or is not a JWKS."""


class KeySets:
    """A thread-safe cache of key sets by URL (one per process: `KEYSETS`)."""

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._sets: dict[str, tuple[float, dict[str, Any]]] = {}
        self._forced: dict[str, deque[float]] = {}

    def get(self, url: str) -> dict[str, Any]:
        """The cached key set of `url`, fetched when missing or stale."""
        with self._lock:
            cached = self._sets.get(url)
        if cached and self._clock() - cached[0] < TTL_SECONDS:
            return cached[1]
        return self._fetch(url)

    def refresh_for_kid(self, url: str, kid: str) -> dict[str, Any] | None:
        """Fetch `url` again because a launch names `kid`, which the cached set lacks; None when
        the rate limit says no (the launch is refused as signed by an unknown key)."""
        now = self._clock()
        with self._lock:
            recent = self._forced.setdefault(url, deque())
            while recent and now - recent[0] > 60:
                recent.popleft()
            if len(recent) >= FORCED_PER_MINUTE:
                return None
            recent.append(now)
        return self._fetch(url)

    def forget(self, url: str | None = None) -> None:
        with self._lock:
            if url is None:
                self._sets.clear()
                self._forced.clear()
            else:
                self._sets.pop(url, None)
                self._forced.pop(url, None)

    def _fetch(self, url: str) -> dict[str, Any]:
        try:
            response = httpx.get(url, timeout=FETCH_TIMEOUT, follow_redirects=True)
            response.raise_for_status()
            keys = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise KeySetError(f"the platform's key set at {url} could not be read ({exc})"
                              ) from exc
        if not isinstance(keys, dict) or not isinstance(keys.get("keys"), list):
            raise KeySetError(f"the platform's key set at {url} is not a JWKS (no 'keys' list)")
        with self._lock:
            self._sets[url] = (self._clock(), keys)
        return keys


def has_kid(keys: dict[str, Any], kid: str) -> bool:
    return any(isinstance(k, dict) and k.get("kid") == kid for k in keys.get("keys", []))


KEYSETS = KeySets()
