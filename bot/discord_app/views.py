"""The buttons under an answer: "Other answers", "Helpful", "Not helpful".

They are ``ui.DynamicItem``s with fixed, namespaced custom ids (``faqbot:answer:more`` ...),
registered once in ``setup_hook``. Unlike a ``timeout=None`` view passed to ``add_view``, a
fully dynamic view is not stored per message, so memory does not grow with every answer; and
because nothing is kept in memory, a click after a restart works the same: the question is
read back from the message's embed and the engine is asked again.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, cast

import discord

from bot.discord_app.formatting import Reply, alternatives_embed, cooldown_text, question_from_embeds
from bot.discord_app.responding import respond_ephemeral, run_with_deferral, send_reply

if TYPE_CHECKING:
    from bot.discord_app.client import FaqBot

log = logging.getLogger(__name__)

CUSTOM_ID_PREFIX = "faqbot:answer:"
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
                   template=re.escape(CUSTOM_ID_PREFIX) + r"(?P<action>more|helpful|unhelpful)"):
    """One answer button; its custom id says what it does, the message says what it is about."""

    def __init__(self, action: str) -> None:
        label, style, emoji = _LOOKS[action]
        super().__init__(discord.ui.Button(label=label, style=style, emoji=emoji,
                                           custom_id=CUSTOM_ID_PREFIX + action))
        self.action = action

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> AnswerButton:
        return cls(match["action"])

    async def callback(self, interaction: discord.Interaction) -> None:
        bot = cast("FaqBot", interaction.client)
        try:
            if self.action == MORE:
                await show_other_answers(bot, interaction)
            else:
                await record_feedback(bot, interaction, helpful=self.action == HELPFUL)
        except Exception:
            log.exception("Answer button %r failed", self.action)
            await respond_ephemeral(interaction, "Sorry, something went wrong with that button.")


def answer_view() -> discord.ui.View:
    """The buttons to attach to an answer message."""
    view = discord.ui.View(timeout=None)
    for action in ACTIONS:
        view.add_item(AnswerButton(action))
    return view


async def show_other_answers(bot: FaqBot, interaction: discord.Interaction) -> None:
    """Re-ask the question the message was for and show the next-best passages, privately."""
    verdict = bot.cooldowns.hit(interaction.user.id)
    if not verdict.allowed:
        await respond_ephemeral(interaction, cooldown_text(verdict.retry_after))
        return
    question = question_from_embeds(interaction.message.embeds) if interaction.message else None
    if not question:
        await respond_ephemeral(interaction, "I can't tell which question this answer was for; "
                                             "please ask again with /ask.")
        return
    answer, deferred = await run_with_deferral(interaction, bot.reask(question), ephemeral=True,
                                               defer_after=bot.defer_after)
    reply = Reply(embeds=(alternatives_embed(question, answer),), ephemeral=True)
    await send_reply(interaction, reply, deferred=deferred, deferred_ephemeral=True)


async def record_feedback(bot: FaqBot, interaction: discord.Interaction, *, helpful: bool) -> None:
    """Count a vote (one per user and message; a changed mind replaces the earlier vote)."""
    message_id = interaction.message.id if interaction.message else 0
    change = bot.record_feedback(message_id, interaction.user.id, helpful=helpful)
    await interaction.response.send_message(_FEEDBACK_REPLIES[change], ephemeral=True)
