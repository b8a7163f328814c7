"""Process set-up for ``faqbot discord``: environment, logging, signals, and clean failures.

This is the only module that reads the environment (``DISCORD_TOKEN``, ``FAQBOT_GUILD_ID``,
``FAQBOT_AUTO_CHANNELS``, ``FAQBOT_LOG``, ``FAQBOT_DB``, also from a git-ignored ``.env``); it
builds a ``DiscordConfig`` and the usage recorder and hands them to the bot. Expected failures
(no token, a rejected token, the message-content intent not enabled, ...) end with one
``faqbot: error: ...`` line on stderr and a non-zero exit status, never a traceback. The token
is never printed, and is redacted from log records just in case.

``run_discord`` is the synchronous entry point used by ``bot.cli``; ``serve`` is the async part,
which tests run in-process against the fake Discord server.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping
from typing import Protocol, TextIO

import aiohttp
import discord
from dotenv import find_dotenv, load_dotenv

from bot.discord_app.client import FaqBot, Rebuild
from bot.discord_app.config import EXIT_ERROR, EXIT_USAGE, DiscordConfig, DiscordSetupError
from bot.engine import Engine
from bot.usage import Recorder, UsageConfig, UsageConfigError, open_recorder

log = logging.getLogger(__name__)

EXIT_OK = 0


class OpenEngine(Protocol):
    """``bot.cli.open_engine``: the engine for the command line's knowledge folder and config file,
    both read again on every call, with the index rebuilt from scratch when ``rebuild`` is true."""

    def __call__(self, args: argparse.Namespace, rebuild: bool = False) -> Engine: ...


class BotFactory(Protocol):
    """Builds the bot (``FaqBot`` itself, or a subclass in tests)."""

    def __call__(self, engine: Engine, config: DiscordConfig, *, rebuild: Rebuild | None = None,
                 usage: Recorder | None = None) -> FaqBot: ...

INTENT_HELP = (
    "Discord refused the Message Content intent (close code 4014): enable 'Message Content Intent' "
    "under Bot > Privileged Gateway Intents for your application in the Discord Developer Portal"
)
TOKEN_HELP = (
    "Discord rejected the token in DISCORD_TOKEN (login failed); copy a fresh one from the Bot page "
    "of your application in the Discord Developer Portal"
)


def run_discord(args: argparse.Namespace, open_engine: OpenEngine) -> int:
    """``faqbot discord``: read the environment, set up logging, open the engine, run until stopped.

    Errors from ``open_engine`` (missing knowledge, bad config) propagate to ``bot.cli``, which
    reports them in one line like for every other command. ``/faq reload`` calls ``open_engine``
    again with ``rebuild=True``, so that an edited config file (threshold, passage size ...) is
    picked up as well as edited articles, exactly as a restart would.
    """
    load_dotenv(find_dotenv(usecwd=True), override=False)  # real environment variables win
    try:
        config = config_from_args(args, os.environ)
        usage_config = UsageConfig.from_env(os.environ)
    except DiscordSetupError as exc:
        return fail(str(exc), exc.status)
    except UsageConfigError as exc:
        return fail(str(exc), EXIT_USAGE)
    setup_logging(verbose=bool(getattr(args, "verbose", False)), secret=config.token)
    engine = open_engine(args)
    with open_recorder(usage_config) as usage:  # closing writes what is still queued
        if usage.enabled:
            log.info("Recording questions in %s (FAQBOT_LOG=off turns this off)", usage_config.path)
        return asyncio.run(serve(config, engine, rebuild=lambda _old: open_engine(args, rebuild=True),
                                 usage=usage))


def config_from_args(args: argparse.Namespace, env: Mapping[str, str]) -> DiscordConfig:
    """The config from ``faqbot discord`` options and the environment (or a test's dict)."""
    return DiscordConfig.from_sources(
        env,
        sync=bool(getattr(args, "sync", False)),
        shards=getattr(args, "shards", None),
        shard_ids=getattr(args, "shard_ids", None),
        shard_count=getattr(args, "shard_count", None),
        threshold=getattr(args, "threshold", None),
    )


class RedactSecret(logging.Filter):
    """Replaces a secret in every log record that passes through the handler."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.secret and self.secret in message:
            record.msg, record.args = message.replace(self.secret, "[redacted]"), ()
        return True


def setup_logging(*, verbose: bool, secret: str = "") -> None:
    """discord.py's logging set-up (coloured when possible), DEBUG with ``-v``, token redacted."""
    discord.utils.setup_logging(level=logging.DEBUG if verbose else logging.INFO, root=True)
    if not verbose:  # one line per HTTP request is noise at INFO
        logging.getLogger("discord.http").setLevel(logging.WARNING)
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactSecret(secret))


def fail(message: str, status: int = EXIT_ERROR, err: TextIO | None = None) -> int:
    print(f"faqbot: error: {message}", file=err or sys.stderr)
    return status


def describe_failure(exc: BaseException) -> str | None:
    """The one line to show for an expected way of failing to run, or None for a bug."""
    if isinstance(exc, DiscordSetupError):
        return str(exc)
    if isinstance(exc, discord.LoginFailure):
        return TOKEN_HELP
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        return INTENT_HELP
    if isinstance(exc, discord.ConnectionClosed):
        reason = f": {exc.reason}" if exc.reason else ""
        return f"Discord closed the gateway connection (code {exc.code}{reason})"
    if isinstance(exc, discord.GatewayNotFound):
        return "could not find the Discord gateway; is Discord down?"
    if isinstance(exc, (aiohttp.ClientConnectionError, asyncio.TimeoutError)):
        return f"cannot reach Discord ({type(exc).__name__}: {exc}); check the network connection"
    if isinstance(exc, discord.HTTPException):
        return f"Discord refused a request during start-up: {exc}"
    return None


def _install_signal_handlers(bot: FaqBot) -> Callable[[], None]:
    """SIGINT/SIGTERM close the bot cleanly (exit status 0); returns a function that undoes this."""
    loop = asyncio.get_running_loop()
    closing: set[asyncio.Task[None]] = set()

    def stop(sig: signal.Signals) -> None:
        log.info("Received %s, shutting down", sig.name)
        task = loop.create_task(bot.close())
        closing.add(task)
        task.add_done_callback(closing.discard)

    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop, sig)
            installed.append(sig)
        except (NotImplementedError, RuntimeError):  # Windows, or not the main thread
            pass

    def remove() -> None:
        for sig in installed:
            loop.remove_signal_handler(sig)

    return remove


async def serve(config: DiscordConfig, engine: Engine, *, bot_factory: BotFactory = FaqBot,
                rebuild: Rebuild | None = None, err: TextIO | None = None, handle_signals: bool = True,
                usage: Recorder | None = None) -> int:
    """Run the bot until it is closed (a signal, or ``bot.close()``); the process exit status.

    ``rebuild`` is what ``/faq reload`` runs (in a worker thread) to get the new engine; ``usage``
    records questions and clicks (the caller closes it).
    Expected failures are reported as one line on ``err``; anything else is a bug and propagates
    (``bot.cli`` reports it in one line too, with the traceback under ``-v``).
    """
    bot = bot_factory(engine, config, rebuild=rebuild, **({"usage": usage} if usage is not None else {}))
    remove_handlers = _install_signal_handlers(bot) if handle_signals else (lambda: None)
    try:
        async with bot:
            await bot.start(config.token)
    except Exception as exc:
        message = describe_failure(exc)
        if message is None:
            raise
        log.debug("Start-up failed", exc_info=exc)
        return fail(message, exc.status if isinstance(exc, DiscordSetupError) else EXIT_ERROR, err)
    finally:
        remove_handlers()
    log.info("Shut down cleanly")
    return EXIT_OK
