"""A conversation's topic: what the last answer was about, carried from one turn to the next.

The engine sets it with each answer; ``bot.followup`` reads a follow-up question in its light.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    """What a conversation is about, carried from one turn to the next."""

    roles: tuple[str, ...] = ()  # role terms, e.g. "role_coo"
    subject: tuple[str, ...] = ()  # content words of the last question: "salary", "report"...
    source: str | None = None  # file and section of the passage last answered with
    section: str | None = None
    frame: tuple[str, ...] = ()  # the roles of this and the turn before it, latest first: who "both" are
