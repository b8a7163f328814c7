"""Conversation state: who asked what recently, so follow-up questions can be understood.

State is kept per key (a terminal session, a JSON-batch ``session``, a Discord user in a channel),
expires after a quiet period and is bounded in memory (least recently used keys are dropped).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from bot.config import Settings
from bot.engine import Alternative, Answer, Engine, Topic


@dataclass
class Conversation:
    """One user's conversation: its topic and when it was last active."""

    topic: Topic | None = None
    updated: float = 0.0
    choices: tuple[Alternative, ...] = ()  # the last "did you mean" offer, for picking by number


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
        with self._lock:
            self._expire(self.clock())
            return len(self._items)

    def _expire(self, now: float) -> None:
        while self._items:
            key, conv = next(iter(self._items.items()))
            if now - conv.updated <= self.ttl:
                break
            del self._items[key]

    def get(self, key: Hashable) -> Conversation:
        """The live conversation for ``key`` (a fresh one if none, or if it expired)."""
        now = self.clock()
        with self._lock:
            self._expire(now)
            conv = self._items.get(key)
            if conv is None:
                conv = Conversation(updated=now)
                self._items[key] = conv
            return conv

    def reset(self, key: Hashable) -> bool:
        """Forget a conversation; True if there was one."""
        with self._lock:
            return self._items.pop(key, None) is not None

    def _save(self, key: Hashable, conv: Conversation) -> None:
        with self._lock:
            conv.updated = self.clock()
            self._items[key] = conv
            self._items.move_to_end(key)  # least recently used first, for expiry and the size bound
            while len(self._items) > self.max_sessions:
                self._items.popitem(last=False)

    def ask(self, engine: Engine, key: Hashable, question: str, remember: bool = True) -> Answer:
        """Answer ``question`` as the next turn of conversation ``key``.

        With ``remember=False`` the conversation is left as it was (an answer that may not be
        shown, e.g. an auto-answer below its threshold); ``remember`` it once it is shown.
        """
        conv = self.get(key)
        picked = self._picked_choice(conv, question)
        if picked is not None:
            answer = engine.choice_answer(question, picked, conv.topic)
        else:
            answer = engine.ask(question, conv.topic)
        if remember:
            self.remember(key, answer)
        return answer

    def remember(self, key: Hashable, answer: Answer) -> None:
        """Make ``answer`` part of conversation ``key``: its topic carries over to the next turn."""
        conv = self.get(key)
        if answer.topic is not None:  # small talk and most "I don't know"s keep the topic
            conv.topic = answer.topic
        conv.choices = answer.choices
        self._save(key, conv)

    @staticmethod
    def _picked_choice(conv: Conversation, question: str) -> Alternative | None:
        """The "did you mean" option a bare number picks ("2"), if one was just offered."""
        text = question.strip().rstrip(".)")
        # ASCII digits only, and few: int() refuses "²" and numbers of thousands of digits
        if not (conv.choices and text.isascii() and text.isdigit() and len(text) <= 3):
            return None
        if 1 <= int(text) <= len(conv.choices):
            return conv.choices[int(text) - 1]
        return None
