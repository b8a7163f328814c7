"""What the fake saw on the wire, plus fault rules and a wait-for-condition helper.

Tests assert on these records instead of on bot internals: "the bot POSTed a
reply with allowed_mentions.parse == []" is a statement about behaviour that a
real Discord would observe.  Waiting is condition based (no sleeps), so tests
are as fast as the client and never flaky on a slow machine.
"""

from __future__ import annotations

import asyncio
import fnmatch
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from .models import JSON

T = TypeVar("T")


@dataclass(frozen=True)
class RecordedFile:
    """One uploaded file of a multipart request."""

    field_name: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class RecordedRequest:
    """One REST request received by the fake.

    ``path`` is relative to the API base (``/channels/1/messages``), ``json`` is
    the JSON body or the parsed ``payload_json`` part of a multipart body.
    ``status`` is ``None`` while the request is still being handled (for example
    during an artificial delay) and the final HTTP status afterwards;
    ``received_at``/``answered_at`` are ``time.monotonic()`` stamps.
    """

    index: int
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any = None
    files: list[RecordedFile] = field(default_factory=list)
    status: int | None = None
    response: Any = None
    received_at: float = field(default_factory=time.monotonic)
    answered_at: float | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def matches(self, method: str, pattern: str) -> bool:
        """``fnmatch`` on the path, e.g. ``matches('POST', '/channels/*/messages')``."""
        return method.upper() in (self.method, "*") and fnmatch.fnmatchcase(self.path, pattern)

    def __str__(self) -> str:
        return f"#{self.index} {self.method} {self.path} -> {self.status}"


@dataclass(frozen=True)
class GatewayFrame:
    """One gateway payload, in either direction.

    ``direction`` is ``'received'`` for client -> fake (IDENTIFY, heartbeats,
    RESUME ...) and ``'sent'`` for fake -> client (HELLO, dispatches ...).
    """

    index: int
    direction: Literal["received", "sent"]
    connection_id: int
    shard_id: int | None
    op: int
    d: Any
    t: str | None = None
    s: int | None = None

    def __str__(self) -> str:
        name = f" {self.t}" if self.t else ""
        where = f"conn={self.connection_id} shard={self.shard_id}"
        return f"#{self.index} {self.direction} {where} op={self.op}{name}"


@dataclass
class FaultRule:
    """Answer the next ``remaining`` matching requests with an error or a delay.

    ``remaining=None`` means "forever" (useful for delays).
    """

    method: str
    pattern: str
    status: int | None = None
    remaining: int | None = 1
    retry_after: float = 0.05
    is_global: bool = False
    delay: float = 0.0
    after_handling: bool = False

    def matches(self, method: str, path: str) -> bool:
        return self.method in (method, "*") and fnmatch.fnmatchcase(path, self.pattern)

    def consume(self) -> None:
        if self.remaining is not None:
            self.remaining -= 1

    @property
    def exhausted(self) -> bool:
        return self.remaining is not None and self.remaining <= 0


@dataclass(frozen=True)
class FakeInteraction:
    """Handle for an injected interaction: use it to find the bot's answers.

    ``callback_path`` is where ``interaction.response.*`` goes; ``webhook_path``
    is the prefix of followups and ``@original`` edits.
    """

    id: int
    token: str
    application_id: int
    payload: JSON

    @property
    def callback_path(self) -> str:
        return f"/interactions/{self.id}/{self.token}/callback"

    @property
    def webhook_path(self) -> str:
        return f"/webhooks/{self.application_id}/{self.token}"


class Journal(Generic[T]):
    """An append-only list with "wait until some entry matches" support.

    A fresh ``asyncio.Event`` per generation avoids the lost-wakeup race of a
    set/clear event: waiters grab the current event *before* checking.
    """

    def __init__(self) -> None:
        self.entries: list[T] = []
        self._changed = asyncio.Event()

    def append(self, entry: T) -> None:
        self.entries.append(entry)
        self.notify()

    def notify(self) -> None:
        """Wake waiters; also call this after mutating an entry (e.g. status)."""
        self._changed.set()
        self._changed = asyncio.Event()

    def find(self, predicate: Callable[[T], bool], start: int = 0) -> list[T]:
        return [e for e in self.entries[start:] if predicate(e)]

    async def wait_for(
        self,
        predicate: Callable[[T], bool],
        *,
        timeout: float,
        start: int = 0,
        count: int = 1,
        what: str = "entry",
    ) -> list[T]:
        """Wait until at least ``count`` entries from index ``start`` match."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self._changed
            found = self.find(predicate, start)
            if len(found) >= count:
                return found
            try:  # asyncio.wait_for rather than asyncio.timeout: the project supports Python 3.10
                await asyncio.wait_for(changed.wait(), max(0.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                seen = "\n  ".join(str(e) for e in self.entries[-30:]) or "(nothing)"
                raise TimeoutError(
                    f"no matching {what} within {timeout}s; last recorded:\n  {seen}"
                ) from None
