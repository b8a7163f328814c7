"""The usage log: the questions people ask and the "Helpful" / "Not helpful" clicks, in SQLite.

Front ends hand events to a ``UsageRecorder``; one background thread writes them, so answering
never waits for the disk, and a write that fails costs one warning, never an answer. Several
processes (shards, a terminal next to the bot) may write to the same file: it is in WAL mode and
every writer waits its turn (``busy_timeout``).

What is stored: time, front end, Discord guild/channel ids, the question, the passage answered
with, the confidence, whether the bot abstained. What is not: names, and raw user ids. A user id
is stored only as an HMAC-SHA256 under a random key kept in the database itself, so a hash cannot
be reversed by hashing every possible Discord id without that file, and is meaningless elsewhere.

The schema is versioned (``PRAGMA user_version``); ``MIGRATIONS[n]`` upgrades version n to n + 1
inside one transaction, so an older file is upgraded in place the first time a newer faqbot
opens it, and a file from a newer faqbot is refused rather than damaged.

Nothing here reads the environment: entry points build a ``UsageConfig`` with ``from_env``.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import queue
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from bot.engine import Answer

log = logging.getLogger(__name__)

DB_VAR = "FAQBOT_DB"
LOG_VAR = "FAQBOT_LOG"
DB_FILENAME = "usage.sqlite3"
_OFF = {"off", "0", "false", "no", "disabled"}
_ON = {"", "on", "1", "true", "yes", "enabled"}

# Each entry upgrades the schema from its index to the next version. Append; never edit one that
# has shipped (files in the field were created by it).
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE questions (
            id INTEGER PRIMARY KEY,
            ts REAL NOT NULL,            -- Unix time (UTC)
            frontend TEXT NOT NULL,      -- chat, ask, discord
            guild_id INTEGER,            -- Discord ids only; NULL elsewhere
            channel_id INTEGER,
            user_hash TEXT,              -- HMAC-SHA256 of the user id; NULL when there is no user id
            question TEXT NOT NULL,
            kind TEXT NOT NULL,          -- answer, smalltalk, unknown
            reason TEXT,                 -- why unknown: empty, too_long, low_confidence
            passage_id TEXT,             -- bot.engine.passage_id of the passage answered with
            source TEXT,
            section TEXT,
            score REAL NOT NULL,
            abstained INTEGER NOT NULL   -- 1 when the bot said "I don't know"
        )""",
        "CREATE INDEX questions_ts ON questions (ts)",
        "CREATE INDEX questions_passage ON questions (passage_id)",
        """CREATE TABLE feedback (
            id INTEGER PRIMARY KEY,
            ts REAL NOT NULL,
            frontend TEXT NOT NULL,
            guild_id INTEGER,
            channel_id INTEGER,
            message_id INTEGER NOT NULL, -- the answer message the buttons are on
            user_hash TEXT NOT NULL,
            question TEXT,
            passage_id TEXT,
            helpful INTEGER NOT NULL,
            UNIQUE (message_id, user_hash) -- one vote per user and answer; a changed mind replaces it
        )""",
        "CREATE INDEX feedback_ts ON feedback (ts)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
_KEY_NAME = "user_hash_key"


class UsageLogError(Exception):
    """The usage log cannot be opened or used (unreadable, not a faqbot log, too new)."""


class UsageConfigError(ValueError):
    """``FAQBOT_LOG`` or ``FAQBOT_DB`` holds a value that cannot be used."""


# -- configuration ----------------------------------------------------------------------------------
def default_db_path(env: Mapping[str, str]) -> Path:
    """The per-user data directory: ``$XDG_DATA_HOME/faqbot`` or ``~/.local/share/faqbot``
    (``%LOCALAPPDATA%\\faqbot`` on Windows)."""
    if os.name == "nt" and env.get("LOCALAPPDATA"):
        return Path(env["LOCALAPPDATA"]) / "faqbot" / DB_FILENAME
    xdg = env.get("XDG_DATA_HOME", "").strip()
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / "faqbot" / DB_FILENAME


@dataclass(frozen=True)
class UsageConfig:
    """Whether to record, and where: built once by an entry point and handed down."""

    enabled: bool
    path: Path

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> UsageConfig:
        """``FAQBOT_LOG`` (on/off, default on) and ``FAQBOT_DB`` (default: ``default_db_path``)."""
        switch = env.get(LOG_VAR, "").strip().lower()
        if switch not in _OFF | _ON:
            raise UsageConfigError(f"{LOG_VAR} must be 'on' or 'off', got {env[LOG_VAR]!r}")
        db = env.get(DB_VAR, "").strip()
        path = Path(db).expanduser() if db else default_db_path(env)
        return cls(enabled=switch not in _OFF, path=path)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(m|min|h|d|w)", re.IGNORECASE)
_UNIT_SECONDS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> float:
    """Seconds in "90d", "12h", "2w", "30m"; ``ValueError`` with a readable message otherwise."""
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise ValueError(f"not a duration: {text!r} (use a number and a unit, e.g. 30m, 12h, 7d, 2w)")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
    if seconds <= 0:
        raise ValueError(f"the duration must be longer than zero: {text!r}")
    if seconds > 100 * 365 * 86400:
        raise ValueError(f"the duration is too long: {text!r}")
    return seconds


# -- events -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QuestionEvent:
    """One question and how it was answered. ``user_id`` is hashed when written, never stored."""

    ts: float
    frontend: str
    question: str
    kind: str
    score: float
    reason: str | None = None
    passage_id: str | None = None
    source: str | None = None
    section: str | None = None
    guild_id: int | None = None
    channel_id: int | None = None
    user_id: int | str | None = None

    @classmethod
    def from_answer(cls, answer: Answer, frontend: str, *, guild_id: int | None = None,
                    channel_id: int | None = None, user_id: int | str | None = None,
                    ts: float | None = None) -> QuestionEvent:
        answered = answer.kind == "answer"
        return cls(
            ts=time.time() if ts is None else ts, frontend=frontend, question=answer.question, kind=answer.kind,
            score=float(answer.score), reason=answer.reason, passage_id=answer.passage_id if answered else None,
            source=answer.source if answered else None, section=answer.section if answered else None,
            guild_id=guild_id, channel_id=channel_id, user_id=user_id,
        )


@dataclass(frozen=True)
class FeedbackEvent:
    """A "Helpful" / "Not helpful" click on an answer message."""

    ts: float
    frontend: str
    message_id: int
    user_id: int | str
    helpful: bool
    question: str | None = None
    passage_id: str | None = None
    guild_id: int | None = None
    channel_id: int | None = None


Event = QuestionEvent | FeedbackEvent


# -- the database -----------------------------------------------------------------------------------
class UsageLog:
    """One connection to the usage log file. Use it from one thread (the recorder's writer, a
    report); open one per thread. Creates the file (and its folder) unless ``create`` is false."""

    busy_timeout_ms = 5000

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise FileNotFoundError(f"no usage log at {self.path}")
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            # Transactions are explicit (BEGIN IMMEDIATE) so that migrations are atomic.
            self._db = sqlite3.connect(self.path, timeout=self.busy_timeout_ms / 1000, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise UsageLogError(f"cannot open the usage log {self.path}: {exc}") from exc
        try:
            self._db.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
            self._db.execute("PRAGMA journal_mode = WAL")  # readers and writers don't block each other
            self._db.execute("PRAGMA synchronous = NORMAL")  # durable enough for a log, much faster
            self._migrate()
            self._key = bytes.fromhex(self._ensure_key())
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise UsageLogError(f"cannot use the usage log {self.path}: {exc}") from exc
        except BaseException:
            self._db.close()
            raise

    # -- schema ------------------------------------------------------------------------------------
    @property
    def version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        if self.version == SCHEMA_VERSION:
            return
        self._db.execute("BEGIN IMMEDIATE")  # one process migrates; the others wait, then see it done
        try:
            version = self.version
            if version > SCHEMA_VERSION:
                raise UsageLogError(
                    f"the usage log {self.path} was written by a newer faqbot (schema {version}; this one "
                    f"knows up to {SCHEMA_VERSION}); upgrade faqbot or point {DB_VAR} at another file")
            if version == 0 and self._db.execute(
                    "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchone()[0]:
                raise UsageLogError(f"{self.path} is an SQLite database but not a faqbot usage log; "
                                    f"point {DB_VAR} at another file")
            for number in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[number]:
                    self._db.execute(statement)
                log.debug("Usage log %s: schema %d -> %d", self.path, number, number + 1)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def _ensure_key(self) -> str:
        """The per-database HMAC key for user ids, made on first use."""
        self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                         (_KEY_NAME, secrets.token_hex(32)))
        return str(self._db.execute("SELECT value FROM meta WHERE key = ?", (_KEY_NAME,)).fetchone()[0])

    def hash_user(self, frontend: str, user_id: int | str | None) -> str | None:
        """The stored form of a user id: keyed, one-way, and specific to this database."""
        if user_id is None:
            return None
        return hmac.new(self._key, f"{frontend}:{user_id}".encode(), hashlib.sha256).hexdigest()

    # -- writing -----------------------------------------------------------------------------------
    def write(self, events: Iterable[Event]) -> int:
        """Store events in one transaction; how many were written."""
        count = 0
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for event in events:
                if isinstance(event, QuestionEvent):
                    self._db.execute(
                        "INSERT INTO questions (ts, frontend, guild_id, channel_id, user_hash, question, kind, "
                        "reason, passage_id, source, section, score, abstained) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (event.ts, event.frontend, event.guild_id, event.channel_id,
                         self.hash_user(event.frontend, event.user_id), event.question, event.kind, event.reason,
                         event.passage_id, event.source, event.section, event.score, int(event.kind == "unknown")))
                else:
                    self._db.execute(
                        "INSERT INTO feedback (ts, frontend, guild_id, channel_id, message_id, user_hash, question, "
                        "passage_id, helpful) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                        "ON CONFLICT (message_id, user_hash) DO UPDATE SET ts = excluded.ts, "
                        "helpful = excluded.helpful, question = coalesce(excluded.question, question), "
                        "passage_id = coalesce(excluded.passage_id, passage_id)",
                        (event.ts, event.frontend, event.guild_id, event.channel_id, event.message_id,
                         self.hash_user(event.frontend, event.user_id), event.question, event.passage_id,
                         int(event.helpful)))
                count += 1
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return count

    def prune(self, older_than: float, now: float | None = None) -> tuple[int, int]:
        """Delete questions and clicks older than ``older_than`` seconds: (questions, clicks) deleted.

        Deleted rows are overwritten (``secure_delete``) and the write-ahead log is emptied, so
        retention means the text is really gone from the files, not just unlinked.
        """
        cutoff = (time.time() if now is None else now) - older_than
        self._db.execute("PRAGMA secure_delete = ON")
        self._db.execute("BEGIN IMMEDIATE")
        try:
            questions = self._db.execute("DELETE FROM questions WHERE ts < ?", (cutoff,)).rowcount
            clicks = self._db.execute("DELETE FROM feedback WHERE ts < ?", (cutoff,)).rowcount
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return questions, clicks

    # -- reading -----------------------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Rows of a read-only query (for reports)."""
        cursor = self._db.cursor()
        cursor.row_factory = sqlite3.Row
        return cursor.execute(sql, params).fetchall()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> UsageLog:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


# -- recording without waiting ----------------------------------------------------------------------
_STOP = object()


class UsageRecorder:
    """Queues events for a background thread that writes them to the usage log.

    ``question`` and ``feedback`` never block and never raise: they are called while answering,
    on the terminal's or on Discord's event loop. The writer opens the file itself (a slow disk or
    a migration does not delay start-up either), writes whatever has queued up in one
    transaction, and on failure logs one warning per run of failures and drops those events.
    """

    enabled = True
    max_pending = 10_000  # beyond this, events are dropped rather than memory growing
    batch_size = 500

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._queue: queue.Queue[Any] = queue.Queue(self.max_pending)
        self._closed = False
        self._failing = False  # in a run of failures: warned once already
        self._dropped_full = False
        self.written = 0  # events stored so far (for tests and diagnostics)
        self._thread = threading.Thread(target=self._run, name="faqbot-usage-log", daemon=True)
        self._thread.start()

    # -- front ends call these ---------------------------------------------------------------------
    def question(self, answer: Answer, frontend: str, *, guild_id: int | None = None,
                 channel_id: int | None = None, user_id: int | str | None = None) -> None:
        """Record a question and its answer (returns at once)."""
        self._put(QuestionEvent.from_answer(answer, frontend, guild_id=guild_id, channel_id=channel_id,
                                            user_id=user_id))

    def feedback(self, *, frontend: str, message_id: int, user_id: int | str, helpful: bool,
                 question: str | None = None, passage_id: str | None = None, guild_id: int | None = None,
                 channel_id: int | None = None) -> None:
        """Record a "Helpful" / "Not helpful" click (returns at once)."""
        self._put(FeedbackEvent(ts=time.time(), frontend=frontend, message_id=message_id, user_id=user_id,
                                helpful=helpful, question=question, passage_id=passage_id, guild_id=guild_id,
                                channel_id=channel_id))

    def _put(self, item: Any) -> None:
        if self._closed:
            return
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            if not self._dropped_full:
                self._dropped_full = True
                log.warning("The usage log is not keeping up (%d events waiting); dropping new events",
                            self.max_pending)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything recorded so far is written (or given up on); False on timeout."""
        if self._closed or not self._thread.is_alive():
            return True
        done = threading.Event()
        try:
            self._queue.put(done, timeout=timeout)
        except queue.Full:
            return False
        return done.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Write what is pending (waiting at most ``timeout`` seconds), then stop the writer."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(queue.Full):
            self._queue.put(_STOP, timeout=timeout)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("The usage log is still writing after %.0f s; %d events may be lost",
                        timeout, self._queue.qsize())

    def __enter__(self) -> UsageRecorder:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- the writer thread -------------------------------------------------------------------------
    def _run(self) -> None:
        db: UsageLog | None = None
        stop = False
        while not stop:
            batch: list[Event] = []
            markers: list[threading.Event] = []
            item = self._queue.get()
            while True:
                if item is _STOP:
                    stop = True
                elif isinstance(item, threading.Event):
                    markers.append(item)
                else:
                    batch.append(item)
                if stop or len(batch) >= self.batch_size:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                db = self._write(db, batch)
            for marker in markers:
                marker.set()
        if db is not None:
            db.close()

    def _write(self, db: UsageLog | None, batch: list[Event]) -> UsageLog | None:
        try:
            if db is None:
                db = UsageLog(self.path)
            self.written += db.write(batch)
        except Exception as exc:  # a log must never take the bot down: warn, drop, try again next time
            if not self._failing:
                self._failing = True
                log.warning("Could not write to the usage log %s (%s); answering goes on without it",
                            self.path, exc)
            else:
                log.debug("Usage log write failed again: %s", exc)
            if db is not None:
                db.close()
            return None
        if self._failing:
            self._failing = False
            log.info("Writing to the usage log %s works again", self.path)
        return db


class NullRecorder:
    """What front ends get when recording is off (``FAQBOT_LOG=off``): records nothing."""

    enabled = False
    path: Path | None = None

    def question(self, answer: Answer, frontend: str, **ids: Any) -> None:
        pass

    def feedback(self, **details: Any) -> None:
        pass

    def flush(self, timeout: float = 5.0) -> bool:
        return True

    def close(self, timeout: float = 5.0) -> None:
        pass

    def __enter__(self) -> NullRecorder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass


Recorder = UsageRecorder | NullRecorder


def open_recorder(config: UsageConfig) -> Recorder:
    """The recorder for a config: a background writer, or nothing when recording is off."""
    return UsageRecorder(config.path) if config.enabled else NullRecorder()
