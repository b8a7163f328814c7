"""``FaqBot``: the one bot class. It owns the state; features live in the cog (``cog.py``).

It derives from ``AutoShardedBot`` with ``shard_count`` defaulting to 1, so the same class runs
unsharded (shard 0 of 1), as N shards in one process (``--shards N``) or as a slice of a bot
shared by several processes (``--shard-ids 0,1 --shard-count 4``), each with its own engine.

State held here rather than in the cog: the current engine (swapped atomically by ``reload``),
conversations, the per-user cooldowns, statistics and feedback. All engine work runs in a
thread so that the event loop (heartbeats, other users) never waits for retrieval.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.config import ConfigError
from bot.conversation import Conversations
from bot.discord_app.config import DiscordConfig, DiscordSetupError
from bot.discord_app.formatting import APOLOGY, StatsView
from bot.discord_app.ratelimit import Cooldowns
from bot.discord_app.responding import respond_ephemeral
from bot.discord_app.views import AnswerButton, ChoiceButton
from bot.engine import Answer, Engine
from bot.gaps import GapReport, read_report
from bot.index_store import KnowledgeError
from bot.usage import NullRecorder, Recorder
from bot.vocabulary import VocabularyError

log = logging.getLogger(__name__)

T = TypeVar("T")
Rebuild = Callable[[Engine], Engine]
FeedbackChange = Literal["new", "changed", "same"]
EXPECTED_RELOAD_ERRORS = (KnowledgeError, ConfigError, VocabularyError, OSError)


def rebuild_engine(engine: Engine, *, threshold: float | None = None) -> Engine:
    """A new engine for the running engine's knowledge folder, with the index rebuilt from scratch.

    Runs in a worker thread; the old engine keeps answering until the caller swaps the new one in.
    """
    if engine.knowledge is None:
        raise KnowledgeError("the running engine was not opened from a knowledge folder")
    return Engine.open(engine.knowledge, engine.index_dir, engine.settings, rebuild=True, threshold=threshold)


def bot_intents() -> discord.Intents:
    """Only what the bot uses; message content is privileged and must be enabled in the portal."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.message_content = True
    return intents


@dataclass
class BotStats:
    """Counters of delivered answers, kept by the bot so that they survive index reloads."""

    questions: int = 0
    answered: int = 0
    unknown: int = 0
    smalltalk: int = 0
    auto_answered: int = 0
    helpful: int = 0
    not_helpful: int = 0
    reloads: int = 0
    started_at: float = field(default_factory=time.time)

    def record(self, answer: Answer, *, auto: bool = False) -> None:
        self.questions += 1
        if answer.kind == "answer":
            self.answered += 1
            self.auto_answered += auto
        elif answer.kind == "smalltalk":
            self.smalltalk += 1
        else:
            self.unknown += 1


class FeedbackLedger:
    """Who rated which answer, so that one user's repeated clicks count once (bounded in memory)."""

    def __init__(self, max_votes: int = 50_000) -> None:
        self.max_votes = max_votes
        self._votes: OrderedDict[tuple[int, int], bool] = OrderedDict()

    def record(self, message_id: int, user_id: int, helpful: bool) -> tuple[FeedbackChange, bool | None]:
        """(what changed, the previous vote if any)."""
        key = (message_id, user_id)
        previous = self._votes.get(key)
        self._votes[key] = helpful
        self._votes.move_to_end(key)
        while len(self._votes) > self.max_votes:
            self._votes.popitem(last=False)
        if previous is None:
            return "new", None
        return ("same" if previous == helpful else "changed"), previous


@dataclass(frozen=True)
class ReloadResult:
    ok: bool
    message: str


class FaqTree(app_commands.CommandTree["FaqBot"]):
    """Turns failed checks into a private explanation; anything else is logged and apologised for."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        if isinstance(error, app_commands.MissingPermissions):
            text = "Only members with the **Manage Server** permission can do that."
        elif isinstance(error, app_commands.NoPrivateMessage):
            text = "That command only works in a server."
        elif isinstance(error, app_commands.CheckFailure):
            text = "You can't use that command here."
        else:
            command = interaction.command.qualified_name if interaction.command else "?"
            log.error("Command /%s failed", command, exc_info=error)
            text = APOLOGY
        await respond_ephemeral(interaction, text)


class FaqBot(commands.AutoShardedBot):
    """The FAQ bot: slash commands, mentions, auto-answer channels and answer buttons."""

    defer_after: float = 1.5  # seconds before an interaction is deferred (Discord allows 3)
    engine_threads: int = 2  # see _run_engine
    inline_budget: float = 0.005  # seconds; engine calls faster than this on average run on the loop

    def __init__(self, engine: Engine, config: DiscordConfig, *, rebuild: Rebuild | None = None,
                 usage: Recorder | None = None, **options: Any) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,  # unused: there are no prefix commands
            help_command=None,
            intents=bot_intents(),
            allowed_mentions=discord.AllowedMentions.none(),
            shard_count=config.shard_count,
            shard_ids=list(config.shard_ids) if config.shard_ids is not None else None,
            tree_cls=FaqTree,
            **options,
        )
        self.engine = engine
        self.config = config
        self.conversations = Conversations(engine.settings)
        self.cooldowns = Cooldowns(engine.settings.cooldown_seconds, engine.settings.cooldown_burst)
        self.stats = BotStats()
        self.feedback = FeedbackLedger()
        # The usage log (questions, clicks): queued for its own writer thread, never written on the loop.
        self.usage: Recorder = usage or NullRecorder()
        self._rebuild: Rebuild = rebuild or (lambda old: rebuild_engine(old, threshold=config.threshold))
        self._reload_lock = asyncio.Lock()
        self._engine_pool = ThreadPoolExecutor(self.engine_threads, thread_name_prefix="faqbot-engine")
        self._engine_seconds: float | None = None  # moving average of engine calls; None until one is seen

    # -- lifecycle --------------------------------------------------------------------------------
    async def setup_hook(self) -> None:
        self.add_dynamic_items(AnswerButton, ChoiceButton)  # work on any message, even after a restart
        await self.load_extension("bot.discord_app.cog")
        if self.config.guild_id is not None:
            self.tree.copy_global_to(guild=discord.Object(self.config.guild_id))
        if self.config.sync:
            await self.sync_commands()

    async def sync_commands(self) -> list[app_commands.AppCommand]:
        """Publish the slash commands: to one guild (instant, for development) or globally."""
        guild = discord.Object(self.config.guild_id) if self.config.guild_id is not None else None
        where = f"to guild {guild.id}" if guild else "globally"
        try:
            synced = await self.tree.sync(guild=guild)
        except discord.HTTPException as exc:
            raise DiscordSetupError(f"could not publish the slash commands {where}: {exc}") from exc
        log.info("Published %d slash commands %s", len(synced), where)
        return synced

    async def close(self) -> None:
        await super().close()
        self._engine_pool.shutdown(wait=False, cancel_futures=True)

    async def on_ready(self) -> None:
        shards = ",".join(str(i) for i in sorted(self.shards)) or "0"
        log.info("Ready as %s (id %s) in %d servers; shards %s of %s",
                 self.user, self.user.id if self.user else "?", len(self.guilds), shards, self.shard_count)

    async def on_message(self, message: discord.Message, /) -> None:
        """No prefix commands: ``FaqCog`` listens for questions, so command parsing is skipped."""

    # -- answering --------------------------------------------------------------------------------
    async def answer(self, key: Hashable, question: str, *, remember: bool = True) -> Answer:
        """Answer ``question`` in the conversation ``key`` ((channel id, user id)), off the loop.

        ``remember=False`` leaves the conversation as it was: for an answer that may not be shown
        (auto-answer channels), which ``remember`` makes part of the conversation once it is.
        """
        engine = self.engine  # a reload may swap engines meanwhile; this question uses this one
        return await self._run_engine(self.conversations.ask, engine, key, question, remember)

    def remember(self, key: Hashable, answer: Answer) -> None:
        """Make a shown answer the latest turn of conversation ``key`` (cheap: no engine work)."""
        self.conversations.remember(key, answer)

    async def reask(self, question: str) -> Answer:
        """Ask again outside any conversation (the "Other answers" button is not a new turn)."""
        return await self._run_engine(self.engine.ask, question)

    async def choose(self, key: Hashable, question: str, number: int) -> Answer | None:
        """The answer for "did you mean" option ``number`` (from 1) of ``question``, or None when
        the question (asked again, outside any conversation) no longer offers that many options.

        The pick becomes the latest turn of conversation ``key`` (the clicker's, in that channel),
        as typing the number does in the terminal: "and do they need an mba?" then goes on from it.
        """
        engine = self.engine

        def pick() -> Answer | None:
            offer = engine.ask(question)
            if not 0 < number <= len(offer.choices):
                return None
            answer = engine.choice_answer(question, offer.choices[number - 1], offer.topic)
            self.conversations.remember(key, answer)
            return answer

        return await self._run_engine(pick)

    async def _run_engine(self, fn: Callable[..., T], *args: Any) -> T:
        """Run engine work where it costs the least without ever stalling the event loop.

        An answer from a typical FAQ takes about a millisecond. Handing that to a thread costs more
        than it saves: the engine is CPU-bound Python holding the GIL, and every hand-off between
        the thread and the loop waits up to the interpreter's switch interval, so under a burst a
        thread pool halves throughput (measured with ``scripts/loadtest.py``). So calls run on the
        loop while they are known to be fast (a moving average under ``inline_budget``), and in
        the bot's own small pool otherwise: at first, and when the knowledge base is big or the
        machine slow, so heartbeats and the 3-second interaction deadline are still met. Not
        ``asyncio.to_thread``: its default pool has up to ``cpu + 4`` threads fighting for the GIL,
        and a dedicated pool means that nothing else queues ahead of answers.
        """
        def timed() -> T:
            # CPU time of this thread: the work alone, not time spent queueing or waiting for the GIL
            started = time.thread_time()
            try:
                return fn(*args)
            finally:
                took = time.thread_time() - started
                average = self._engine_seconds
                self._engine_seconds = took if average is None else 0.8 * average + 0.2 * took

        if self._engine_seconds is not None and self._engine_seconds < self.inline_budget:
            return timed()
        return await asyncio.get_running_loop().run_in_executor(self._engine_pool, timed)

    def log_question(self, answer: Answer, *, guild_id: int | None, channel_id: int | None, user_id: int) -> None:
        """Record a question that was answered (or not) in the usage log; returns at once."""
        self.usage.question(answer, "discord", guild_id=guild_id, channel_id=channel_id, user_id=user_id)

    def record_feedback(self, message_id: int, user_id: int, *, helpful: bool, passage_id: str | None = None,
                        question: str | None = None, guild_id: int | None = None,
                        channel_id: int | None = None) -> FeedbackChange:
        # The usage log keeps one vote per user and message itself, across restarts: always send it.
        self.usage.feedback(frontend="discord", message_id=message_id, user_id=user_id, helpful=helpful,
                            question=question, passage_id=passage_id, guild_id=guild_id, channel_id=channel_id)
        change, previous = self.feedback.record(message_id, user_id, helpful)
        if change == "same":
            return change
        if previous is not None:
            self.stats.helpful -= previous
            self.stats.not_helpful -= not previous
        self.stats.helpful += helpful
        self.stats.not_helpful += not helpful
        return change

    # -- administration ---------------------------------------------------------------------------
    async def reload(self) -> ReloadResult:
        """Rebuild the index in a thread and swap it in; on failure keep serving the old one."""
        if self._reload_lock.locked():
            return ReloadResult(False, "A reload is already running; try again when it has finished.")
        async with self._reload_lock:
            old = self.engine
            started = time.perf_counter()
            try:
                new = await asyncio.to_thread(self._rebuild, old)
            except Exception as exc:
                expected = isinstance(exc, EXPECTED_RELOAD_ERRORS)
                reason = str(exc) if expected else f"{type(exc).__name__}: {exc}"
                log.warning("Reload failed, keeping the previous index: %s", reason, exc_info=not expected)
                return ReloadResult(False, f"{reason}\nStill answering from the previous index "
                                           f"({_describe(old)}).")
            self.engine = new
            self.stats.reloads += 1
            seconds = time.perf_counter() - started
            log.info("Reloaded the index in %.2f s: %s (was %s)", seconds, _describe(new), _describe(old))
            return ReloadResult(True, f"Rebuilt in {seconds:.1f} s: {_describe(new)} (was {_describe(old)}).")

    async def gap_report(self, guild_id: int, days: int, limit: int = 10) -> GapReport | None:
        """The knowledge-gap report of one server (None when the usage log is off), read in a worker
        thread after the questions recorded so far are written."""
        if not self.usage.enabled or self.usage.path is None:
            return None
        usage, path, engine = self.usage, self.usage.path, self.engine

        def read() -> GapReport:
            usage.flush(timeout=2.0)
            return read_report(path, since=days * 86400.0, guild_id=guild_id, limit=limit,
                               low_confidence=engine.settings.auto_answer_threshold,
                               vocabulary=engine.retriever.analyzer.vocabulary)

        return await asyncio.to_thread(read)

    def stats_view(self) -> StatsView:
        sources = self.engine.sources()
        shards = ",".join(str(i) for i in sorted(self.shards)) or "0"
        s = self.stats
        return StatsView(
            documents=len(sources), passages=sum(n for _, _, n in sources), built_at=self.engine.built_at,
            started_at=s.started_at, questions=s.questions, answered=s.answered, unknown=s.unknown,
            smalltalk=s.smalltalk, auto_answered=s.auto_answered, helpful=s.helpful,
            not_helpful=s.not_helpful, reloads=s.reloads, guilds=len(self.guilds),
            shards=f"{shards} of {self.shard_count}",
        )


def _describe(engine: Engine) -> str:
    sources = engine.sources()
    return f"{len(sources)} documents, {sum(n for _, _, n in sources)} passages"
