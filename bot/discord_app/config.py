"""``DiscordConfig``: everything the Discord layer needs from the environment and the command line.

The runner is the only place that reads the environment; it builds one ``DiscordConfig`` and
passes it down, so the bot, the cog and the tests never look at ``os.environ`` themselves.
Parsing lives here (pure functions, no discord import) so that a bad value becomes one clear
``DiscordSetupError`` before anything connects.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

TOKEN_VAR = "DISCORD_TOKEN"
GUILD_VAR = "FAQBOT_GUILD_ID"
AUTO_CHANNELS_VAR = "FAQBOT_AUTO_CHANNELS"

EXIT_ERROR, EXIT_USAGE = 1, 2


class DiscordSetupError(Exception):
    """A configuration or start-up problem to report as one line, with an exit status."""

    def __init__(self, message: str, status: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class DiscordConfig:
    """Validated settings of one bot process.

    ``token`` is excluded from ``repr`` so that logging or printing the config can never leak it.
    """

    token: str = field(repr=False)
    guild_id: int | None = None  # FAQBOT_GUILD_ID: sync commands to this guild only (instant)
    auto_channels: frozenset[int] = frozenset()  # FAQBOT_AUTO_CHANNELS: answer questions unprompted
    sync: bool = False  # --sync: publish slash commands on start
    shard_count: int = 1
    shard_ids: tuple[int, ...] | None = None  # None: every shard of shard_count in this process
    threshold: float | None = None  # --threshold, kept so that a reload applies it again

    @classmethod
    def from_sources(
        cls,
        env: Mapping[str, str],
        *,
        sync: bool = False,
        shards: int | None = None,
        shard_ids: str | None = None,
        shard_count: int | None = None,
        threshold: float | None = None,
    ) -> DiscordConfig:
        """Build the config from environment variables and command-line values, or raise."""
        token = (env.get(TOKEN_VAR) or "").strip()
        if not token:
            raise DiscordSetupError(
                f"{TOKEN_VAR} is not set; put the bot token in the environment or in a .env file "
                "(see the Bot page of your application in the Discord Developer Portal)"
            )
        count, ids = parse_shards(shards, shard_ids, shard_count)
        return cls(
            token=token,
            guild_id=parse_snowflake(GUILD_VAR, env.get(GUILD_VAR, "")),
            auto_channels=parse_snowflakes(AUTO_CHANNELS_VAR, env.get(AUTO_CHANNELS_VAR, "")),
            sync=sync,
            shard_count=count,
            shard_ids=ids,
            threshold=threshold,
        )


def parse_snowflake(name: str, value: str) -> int | None:
    """One Discord id, or None when the variable is empty."""
    value = value.strip()
    if not value:
        return None
    if not value.isdigit() or int(value) <= 0:
        raise DiscordSetupError(f"{name} must be a Discord id (a number), got {value!r}", EXIT_USAGE)
    return int(value)


def parse_snowflakes(name: str, value: str) -> frozenset[int]:
    """Comma- or space-separated Discord ids ("123,456")."""
    ids = set()
    for part in re.split(r"[\s,]+", value.strip()):
        if part:
            ids.add(parse_snowflake(name, part))
    return frozenset(i for i in ids if i is not None)


def parse_shards(
    shards: int | None, shard_ids: str | None, shard_count: int | None
) -> tuple[int, tuple[int, ...] | None]:
    """(shard_count, shard_ids) from ``--shards N`` or ``--shard-ids 0,1 --shard-count 4``.

    Without either, the bot runs as the single shard 0 of 1, which is what an unsharded bot is.
    """
    if shards is not None and (shard_ids is not None or shard_count is not None):
        raise DiscordSetupError("use either --shards N or --shard-ids/--shard-count, not both", EXIT_USAGE)
    if shards is not None:
        if shards < 1:
            raise DiscordSetupError("--shards must be at least 1", EXIT_USAGE)
        return shards, None
    if shard_ids is None:
        if shard_count is not None and shard_count < 1:
            raise DiscordSetupError("--shard-count must be at least 1", EXIT_USAGE)
        return shard_count or 1, None
    if shard_count is None or shard_count < 1:
        raise DiscordSetupError("--shard-ids needs --shard-count (the total across all processes)",
                                EXIT_USAGE)
    ids: list[int] = []
    for part in re.split(r"[\s,]+", shard_ids.strip()):
        if not part:
            continue
        if not part.isdigit() or int(part) >= shard_count:
            raise DiscordSetupError(
                f"--shard-ids: {part!r} is not a shard id between 0 and {shard_count - 1}", EXIT_USAGE
            )
        if int(part) not in ids:
            ids.append(int(part))
    if not ids:
        raise DiscordSetupError("--shard-ids names no shard", EXIT_USAGE)
    return shard_count, tuple(sorted(ids))
