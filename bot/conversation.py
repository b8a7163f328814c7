"""Conversation state: who asked what recently, so follow-up questions can be understood.

State is kept per key (a terminal session, a JSON-batch ``session``, a Discord user in a channel),
expires after a quiet period and is bounded in memory (least recently used keys are dropped).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from bot.config import Settings


@dataclass
class Turn:
    question: str
    kind: str
    roles: tuple[str, ...] = ()


@dataclass
class Conversation:
    """One user's recent turns."""

    turns: list[Turn] = field(default_factory=list)
    updated: float = 0.0


class Conversations:
    """A bounded, expiring map of conversation key -> ``Conversation``."""

    def __init__(self, settings: Settings | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        settings = settings or Settings()
        self.ttl = settings.session_ttl_seconds
        self.max_sessions = settings.max_sessions
        self.clock = clock
        self._items: OrderedDict[Hashable, Conversation] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable) -> Conversation:
        """The live conversation for ``key`` (a fresh one if none, or if it expired)."""
        now = self.clock()
        with self._lock:
            conv = self._items.get(key)
            if conv is None or now - conv.updated > self.ttl:
                conv = Conversation(updated=now)
                self._items[key] = conv
            self._items.move_to_end(key)
            while len(self._items) > self.max_sessions:
                self._items.popitem(last=False)
            return conv

    def reset(self, key: Hashable) -> bool:
        """Forget a conversation; True if there was one."""
        with self._lock:
            return self._items.pop(key, None) is not None

    def record(self, key: Hashable, turn: Turn) -> None:
        conv = self.get(key)
        with self._lock:
            conv.turns = [*conv.turns[-4:], turn]
            conv.updated = self.clock()

    def ask(self, engine, key: Hashable, question: str):
        """Answer ``question`` as part of the conversation ``key``."""
        answer = engine.ask(question)
        self.record(key, Turn(question, answer.kind, answer.about))
        return answer
