"""Answering an interaction within Discord's 3-second window.

Discord drops an interaction that gets no response within 3 seconds. Answers are usually
instant, so deferring every time would flash a needless "thinking..." message; instead the work
starts at once and the interaction is deferred only if it has not finished after
``defer_after`` seconds (1.5 s leaves ample margin for the defer request itself).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

import discord

from bot.discord_app.formatting import Reply

log = logging.getLogger(__name__)

T = TypeVar("T")


async def run_with_deferral(interaction: discord.Interaction, work: Awaitable[T], *, ephemeral: bool,
                            defer_after: float) -> tuple[T, bool]:
    """(result of ``work``, whether the interaction had to be deferred while waiting for it)."""
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait({task}, timeout=defer_after)
        if done:
            return task.result(), False
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        return await task, True
    except BaseException:
        task.cancel()
        raise


def _message_kwargs(reply: Reply, view: discord.ui.View | None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if reply.content:
        kwargs["content"] = reply.content
    if reply.embeds:
        kwargs["embeds"] = list(reply.embeds)
    if view is not None:
        kwargs["view"] = view
    return kwargs


async def send_reply(interaction: discord.Interaction, reply: Reply, *, view: discord.ui.View | None = None,
                     deferred: bool = False, deferred_ephemeral: bool = True) -> None:
    """Send ``reply`` as the response, or as the followup of a deferred response.

    A deferred "thinking" message keeps the visibility it was deferred with; when a public one
    must become private (an "I don't know" to a public question) it is deleted first.
    """
    kwargs = _message_kwargs(reply, view)
    if not deferred:
        await interaction.response.send_message(**kwargs, ephemeral=reply.ephemeral)
        return
    if reply.ephemeral and not deferred_ephemeral:
        await interaction.delete_original_response()
    await interaction.followup.send(**kwargs, ephemeral=reply.ephemeral)


async def respond_ephemeral(interaction: discord.Interaction, text: str | None = None, *,
                            embed: discord.Embed | None = None) -> None:
    """A private note to whoever triggered ``interaction``, whether or not it was answered yet."""
    kwargs: dict[str, Any] = {"ephemeral": True}
    if text:
        kwargs["content"] = text
    if embed is not None:
        kwargs["embed"] = embed
    try:
        if interaction.response.is_done():
            await interaction.followup.send(**kwargs)
        else:
            await interaction.response.send_message(**kwargs)
    except discord.HTTPException as exc:  # the interaction expired or was already answered
        log.warning("Could not answer interaction %s: %s", interaction.id, exc)
