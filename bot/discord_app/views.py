"""The buttons under an answer: "Other answers", "Helpful", "Not helpful", and "did you mean" choices.

They are ``ui.DynamicItem``s with fixed, namespaced custom ids (``faqbot:answer:more`` ...,
``faqbot:choice:1`` ... ``faqbot:choice:5``), registered once in ``setup_hook``. The feedback
buttons also carry the id of the passage answered with (``faqbot:answer:unhelpful:3fa9c2d1e0b4``),
so a click says which passage it is about even after a restart or a reload; buttons without it
(messages from older versions) still work. Unlike a
``timeout=None`` view passed to ``add_view``, a fully dynamic view is not stored per message, so
memory does not grow with every answer; and because nothing is kept in memory, a click after a
restart works the same: the question is read back from the message's embed and the engine is
asked again (for a choice, the choices are derived again and the n-th one is shown).
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, cast

import discord

from bot.discord_app.formatting import (
    APOLOGY,
    MAX_CHOICE_BUTTONS,
    Reply,
    alternatives_embed,
    cooldown_text,
    question_from_embeds,
    render_answer,
)
from bot.discord_app.responding import respond_ephemeral, run_with_deferral, send_reply

if TYPE_CHECKING:
    from bot.discord_app.client import FaqBot

log = logging.getLogger(__name__)

CUSTOM_ID_PREFIX = "faqbot:answer:"
CHOICE_ID_PREFIX = "faqbot:choice:"
NO_QUESTION = "I can't tell which question this answer was for; please ask again with /ask."
MORE, HELPFUL, UNHELPFUL = "more", "helpful", "unhelpful"
ACTIONS = (MORE, HELPFUL, UNHELPFUL)
_LOOKS: dict[str, tuple[str, discord.ButtonStyle, str]] = {
    MORE: ("Other answers", discord.ButtonStyle.secondary, "🔎"),
    HELPFUL: ("Helpful", discord.ButtonStyle.success, "👍"),
    UNHELPFUL: ("Not helpful", discord.ButtonStyle.secondary, "👎"),
}
_FEEDBACK_REPLIES = {
    "new": "Thanks for the feedback!",
    "changed": "Thanks — I've updated your feedback.",
    "same": "You already rated this answer — thanks!",
}


class AnswerButton(discord.ui.DynamicItem[discord.ui.Button[Any]],
                   template=re.escape(CUSTOM_ID_PREFIX)
                   + r"(?P<action>more|helpful|unhelpful)(?::(?P<passage>[0-9a-f]{1,64}))?"):
    """One answer button; its custom id says what it does (and, for feedback, which passage it
    rates), the message says what it is about."""

    def __init__(self, action: str, passage_id: str | None = None) -> None:
        label, style, emoji = _LOOKS[action]
        passage_id = passage_id if action != MORE else None
        custom_id = CUSTOM_ID_PREFIX + action + (f":{passage_id}" if passage_id else "")
        super().__init__(discord.ui.Button(label=label, style=style, emoji=emoji, custom_id=custom_id))
        self.action = action
        self.passage_id = passage_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> AnswerButton:
        return cls(match["action"], match["passage"])

    async def callback(self, interaction: discord.Interaction) -> None:
        bot = cast("FaqBot", interaction.client)
        try:
            if self.action == MORE:
                await show_other_answers(bot, interaction)
            else:
                await record_feedback(bot, interaction, helpful=self.action == HELPFUL, passage_id=self.passage_id)
        except Exception:
            log.exception("Answer button %r failed", self.action)
            await respond_ephemeral(interaction, APOLOGY)


class ChoiceButton(discord.ui.DynamicItem[discord.ui.Button[Any]],
                   template=re.escape(CHOICE_ID_PREFIX) + rf"(?P<number>[1-{MAX_CHOICE_BUTTONS}])"):
    """"Did you mean" option ``number``: the custom id holds only the number, so that a click
    works on any message and after a restart; what the options are is derived again on click."""

    def __init__(self, number: int, label: str) -> None:
        super().__init__(discord.ui.Button(label=label, style=discord.ButtonStyle.primary, row=1,
                                           custom_id=f"{CHOICE_ID_PREFIX}{number}"))
        self.number = number

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> ChoiceButton:
        label = item.label if isinstance(item, discord.ui.Button) and item.label else match["number"]
        return cls(int(match["number"]), label)

    async def callback(self, interaction: discord.Interaction) -> None:
        bot = cast("FaqBot", interaction.client)
        try:
            await show_choice(bot, interaction, self.number)
        except Exception:
            log.exception("Choice button %d failed", self.number)
            await respond_ephemeral(interaction, APOLOGY)


def answer_view(choices: tuple[str, ...] = (), passage_id: str | None = None) -> discord.ui.View:
    """The buttons to attach to an answer: the three answer buttons, then one per choice label."""
    view = discord.ui.View(timeout=None)
    for action in ACTIONS:
        view.add_item(AnswerButton(action, passage_id))
    for number, label in enumerate(choices[:MAX_CHOICE_BUTTONS], start=1):
        view.add_item(ChoiceButton(number, label))
    return view


def reply_view(reply: Reply) -> discord.ui.View | None:
    """The view for ``reply``, or None when it gets no buttons ("I don't know", small talk)."""
    return answer_view(reply.choices, reply.passage_id) if reply.buttons else None


async def _clicked_question(bot: FaqBot, interaction: discord.Interaction) -> str | None:
    """The question of the message whose button was clicked; None (the user already told why)
    when the user is cooling down or the message holds no question."""
    verdict = bot.cooldowns.hit(interaction.user.id)
    if not verdict.allowed:
        await respond_ephemeral(interaction, cooldown_text(verdict.retry_after))
        return None
    question = question_from_embeds(interaction.message.embeds) if interaction.message else None
    if not question:
        await respond_ephemeral(interaction, NO_QUESTION)
        return None
    return question


async def show_other_answers(bot: FaqBot, interaction: discord.Interaction) -> None:
    """Re-ask the question the message was for and show the next-best passages, privately."""
    question = await _clicked_question(bot, interaction)
    if question is None:
        return
    answer, deferred = await run_with_deferral(interaction, bot.reask(question), ephemeral=True,
                                               defer_after=bot.defer_after)
    reply = Reply(embeds=(alternatives_embed(question, answer),), ephemeral=True)
    await send_reply(interaction, reply, deferred=deferred, deferred_ephemeral=True)


async def show_choice(bot: FaqBot, interaction: discord.Interaction, number: int) -> None:
    """Show "did you mean" option ``number`` of the message's question, privately.

    The question is read back from the embed (as understood in context when it says so, because
    that text stands on its own) and asked again; the n-th of the choices derived now is shown,
    and becomes the clicker's latest turn in that channel.
    If the index changed since and there is no such option any more, the user is told to ask again.
    """
    question = await _clicked_question(bot, interaction)
    if question is None:
        return
    key = (interaction.channel_id or 0, interaction.user.id)
    answer, deferred = await run_with_deferral(interaction, bot.choose(key, question, number), ephemeral=True,
                                               defer_after=bot.defer_after)
    if answer is None:
        reply = Reply(content=f"Option {number} is no longer on offer for that question; please ask again.")
    else:
        reply = render_answer(answer, topics=bot.engine.topics, public=False)
    await send_reply(interaction, reply, view=reply_view(reply), deferred=deferred, deferred_ephemeral=True)


async def record_feedback(bot: FaqBot, interaction: discord.Interaction, *, helpful: bool,
                          passage_id: str | None = None) -> None:
    """Count a vote (one per user and message; a changed mind replaces the earlier vote)."""
    message_id = interaction.message.id if interaction.message else 0
    question = question_from_embeds(interaction.message.embeds) if interaction.message else None
    change = bot.record_feedback(message_id, interaction.user.id, helpful=helpful, passage_id=passage_id,
                                 question=question, guild_id=interaction.guild_id,
                                 channel_id=interaction.channel_id)
    await interaction.response.send_message(_FEEDBACK_REPLIES[change], ephemeral=True)
