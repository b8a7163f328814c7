"""A per-user token bucket for questions.

Why not ``app_commands.checks.cooldown``: its state lives on the command object, which is
shared by every bot instance in the process (tests, several shards' bots), and it only covers
slash commands, not mentions or buttons. This one belongs to one bot and covers every path.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    """The outcome of one attempt: allowed, or how long to wait (and whether we said so already)."""

    allowed: bool
    retry_after: float = 0.0
    first_refusal: bool = False  # the first refusal since the user's last allowed question


@dataclass
class _Bucket:
    tokens: float
    updated: float
    warned: bool = False


class Cooldowns:
    """``burst`` questions back to back, then one every ``seconds``; per key, bounded in memory.

    ``seconds <= 0`` or ``burst <= 0`` disables the limit.
    """

    def __init__(self, seconds: float, burst: int, *, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = float(seconds)
        self.burst = int(burst)
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[Hashable, _Bucket] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.seconds > 0 and self.burst > 0

    def _refill(self, key: Hashable) -> _Bucket:
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(tokens=float(self.burst), updated=now)
            self._buckets[key] = bucket
            self._prune()
        else:
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) / self.seconds)
            bucket.updated = now
            self._buckets.move_to_end(key)
        return bucket

    def _prune(self) -> None:
        """Drop the least recently used keys beyond ``max_keys`` (a full bucket loses nothing)."""
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)

    def check(self, key: Hashable) -> float:
        """Seconds until ``key`` may ask again (0.0: now), without using a token."""
        if not self.enabled:
            return 0.0
        bucket = self._refill(key)
        return 0.0 if bucket.tokens >= 1.0 else (1.0 - bucket.tokens) * self.seconds

    def hit(self, key: Hashable) -> Verdict:
        """Use one token for ``key`` if there is one."""
        if not self.enabled:
            return Verdict(True)
        bucket = self._refill(key)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            bucket.warned = False
            return Verdict(True)
        first = not bucket.warned
        bucket.warned = True
        return Verdict(False, (1.0 - bucket.tokens) * self.seconds, first)
