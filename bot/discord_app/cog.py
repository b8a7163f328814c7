"""``FaqCog``: what users and admins can do. Loaded by ``FaqBot.setup_hook`` via ``setup``.

* ``/ask question [public]``: an embed answer (private unless ``public``), "I don't know" privately;
* ``/faq sources|stats``: for everyone; ``/faq reload`` and ``/faq report`` (the questions this
  server asked that went unanswered): Manage Server only (checked in code, so that the group stays
  visible to everyone without a server admin changing its permissions);
* mentions ("@FAQ Bot what does a COO do?") get a reply to that message, without pinging anyone;
* in auto-answer channels, questions get an answer only when the confidence is high.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.client import FaqBot
from bot.discord_app.formatting import (
    APOLOGY,
    Reply,
    cooldown_text,
    looks_like_question,
    mentions_user,
    reload_embed,
    render_answer,
    report_embed,
    sources_embeds,
    stats_embed,
    strip_mention,
)
from bot.discord_app.responding import run_with_deferral, send_reply
from bot.discord_app.views import reply_view
from bot.engine import Answer
from bot.usage import UsageLogError

log = logging.getLogger(__name__)

MAX_QUESTION_OPTION = 2000  # the slash option's max length; the engine enforces its own limit too
ANSWERABLE_TYPES = (discord.MessageType.default, discord.MessageType.reply)

Outcome = Literal["ignored", "answered", "cooldown", "not-question", "below-threshold", "failed"]


class FaqCog(commands.Cog):
    """Questions in, answers out; plus the admin commands."""

    faq = app_commands.Group(name="faq", description="About the FAQ bot: sources, statistics, reload, report",
                             guild_only=True)

    def __init__(self, bot: FaqBot) -> None:
        self.bot = bot

    # -- /ask ------------------------------------------------------------------------------------
    @app_commands.command(name="ask", description="Ask the FAQ a question")
    @app_commands.describe(question="Your question",
                           public="Post the answer for everyone (default: only you see it)")
    async def ask(self, interaction: discord.Interaction,
                  question: app_commands.Range[str, 1, MAX_QUESTION_OPTION], public: bool = False) -> None:
        verdict = self.bot.cooldowns.hit(interaction.user.id)
        if not verdict.allowed:
            await interaction.response.send_message(cooldown_text(verdict.retry_after), ephemeral=True)
            return
        key = (interaction.channel_id or 0, interaction.user.id)
        answer, deferred = await run_with_deferral(interaction, self.bot.answer(key, question),
                                                   ephemeral=not public, defer_after=self.bot.defer_after)
        reply = render_answer(answer, topics=self.bot.engine.topics, public=public)
        await send_reply(interaction, reply, view=reply_view(reply), deferred=deferred,
                         deferred_ephemeral=not public)
        self.bot.stats.record(answer)
        self.bot.log_question(answer, guild_id=interaction.guild_id, channel_id=interaction.channel_id,
                              user_id=interaction.user.id)

    # -- /faq ... --------------------------------------------------------------------------------
    @faq.command(name="reload", description="Rebuild the index from the knowledge folder (Manage Server)")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def reload(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        log.info("Reload requested by %s (id %s)", interaction.user, interaction.user.id)
        result = await self.bot.reload()
        await interaction.followup.send(embed=reload_embed(result.ok, result.message), ephemeral=True)

    @faq.command(name="report", description="Questions asked here that went unanswered (Manage Server)")
    @app_commands.describe(days="How many days back to look (default 30)")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def report(self, interaction: discord.Interaction, days: app_commands.Range[int, 1, 3650] = 30) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        # Only this server's questions: admins of one server must not read another's.
        try:
            report = await self.bot.gap_report(interaction.guild_id or 0, days)
        except (UsageLogError, sqlite3.Error) as exc:
            log.warning("/faq report: cannot read the usage log: %s", exc)
            await interaction.followup.send(f"Cannot read the usage log: {exc}", ephemeral=True)
            return
        await interaction.followup.send(embed=report_embed(report, days), ephemeral=True)

    @faq.command(name="sources", description="List the documents the bot answers from")
    async def sources(self, interaction: discord.Interaction) -> None:
        pages = sources_embeds(self.bot.engine.sources())
        await interaction.response.send_message(embed=pages[0], ephemeral=True)
        for page in pages[1:]:
            await interaction.followup.send(embed=page, ephemeral=True)

    @faq.command(name="stats", description="Index size and age, questions answered, feedback")
    async def stats(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(embed=stats_embed(self.bot.stats_view()), ephemeral=True)

    # -- messages --------------------------------------------------------------------------------
    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        try:
            outcome = await self._handle_message(message)
        except Exception:
            log.exception("Failed to handle message %s in channel %s", message.id, message.channel.id)
            outcome = "failed"
        # Lets operators (and tests) observe each decision without scraping logs.
        self.bot.dispatch("faqbot_message_handled", message, outcome)

    async def _handle_message(self, message: discord.Message) -> Outcome:
        me = self.bot.user
        if me is None or message.author.bot or message.author.id == me.id:
            return "ignored"
        if message.type not in ANSWERABLE_TYPES:
            return "ignored"
        if self._addressed(message, me.id):
            return await self._answer_addressed(message, strip_mention(message.content, me.id))
        channel = message.channel
        if channel.id in self.bot.config.auto_channels or (
                getattr(channel, "parent_id", None) in self.bot.config.auto_channels):
            return await self._auto_answer(message)
        return "ignored"

    @staticmethod
    def _addressed(message: discord.Message, my_id: int) -> bool:
        """Put to the bot: it is mentioned in the text, it is a DM, or it is a reply to one of the
        bot's messages (how people ask a follow-up to an answer)."""
        if mentions_user(message.content, my_id) or isinstance(message.channel, discord.DMChannel):
            return True
        replied = message.reference.resolved if message.reference else None
        return isinstance(replied, discord.Message) and replied.author.id == my_id

    async def _answer_addressed(self, message: discord.Message, question: str) -> Outcome:
        """A question put to the bot (mention, DM or reply): always answered, "I don't know" included."""
        verdict = self.bot.cooldowns.hit(message.author.id)
        if not verdict.allowed:
            if verdict.first_refusal:  # say it once, not on every message
                await self._reply(message, Reply(content=cooldown_text(verdict.retry_after)))
            return "cooldown"
        try:
            answer = await self.bot.answer((message.channel.id, message.author.id), question)
        except Exception:
            log.exception("Failed to answer message %s in channel %s", message.id, message.channel.id)
            await self._reply(message, Reply(content=APOLOGY))
            return "failed"
        await self._reply(message, render_answer(answer, topics=self.bot.engine.topics, public=True))
        self.bot.stats.record(answer)
        self._log(message, answer)
        return "answered"

    async def _auto_answer(self, message: discord.Message) -> Outcome:
        """Unprompted: only questions, only confident answers, and silently when rate limited.

        The conversation only moves on when the bot replies: a question it stays silent about
        was not put to it, so it must not change what the user's next question is read against.
        """
        if not looks_like_question(message.content):
            return "not-question"
        if self.bot.cooldowns.check(message.author.id) > 0:
            return "cooldown"
        key = (message.channel.id, message.author.id)
        answer = await self.bot.answer(key, message.content, remember=False)
        if answer.kind != "answer" or answer.score < self.bot.engine.settings.auto_answer_threshold:
            return "below-threshold"
        self.bot.remember(key, answer)
        self.bot.cooldowns.hit(message.author.id)
        await self._reply(message, render_answer(answer, topics=self.bot.engine.topics, public=True))
        self.bot.stats.record(answer, auto=True)
        self._log(message, answer)  # questions the bot stays silent about were not put to it: not logged
        return "answered"

    def _log(self, message: discord.Message, answer: Answer) -> None:
        self.bot.log_question(answer, guild_id=message.guild.id if message.guild else None,
                              channel_id=message.channel.id, user_id=message.author.id)

    async def _reply(self, message: discord.Message, reply: Reply) -> None:
        """Reply to ``message`` in its channel: referenced, nobody pinged (not even the asker)."""
        try:
            await message.channel.send(
                content=reply.content, embeds=list(reply.embeds),
                view=reply_view(reply),
                reference=message.to_reference(fail_if_not_exists=False),
                mention_author=False, allowed_mentions=discord.AllowedMentions.none(),
            )
        except discord.Forbidden:
            log.warning("Not allowed to reply in channel %s", message.channel.id)


async def setup(bot: FaqBot) -> None:
    await bot.add_cog(FaqCog(bot))
