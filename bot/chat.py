"""Terminal chat: a prompt with line editing and history, or plain answers when stdin is piped."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TextIO

from bot.conversation import Conversations
from bot.engine import Engine
from bot.usage import NullRecorder, Recorder

HISTORY = Path(os.environ.get("FAQBOT_HISTORY", Path.home() / ".faqbot_history"))
HELP = """Ask a question in plain words. Commands:
  /help      this help
  /sources   the documents I answer from
  /reset     forget the conversation so far
  /quit      leave (Ctrl-D and Ctrl-C work too)"""


def _setup_readline() -> None:
    """Line editing and persistent history, where the platform has readline."""
    try:
        import readline
    except ImportError:  # pragma: no cover - e.g. Windows without pyreadline
        return
    with contextlib.suppress(OSError):
        readline.read_history_file(HISTORY)
    readline.set_history_length(1000)
    import atexit

    def save() -> None:
        with contextlib.suppress(OSError):  # an unwritable history file is not worth an error
            readline.write_history_file(HISTORY)

    atexit.register(save)


def sources_text(engine: Engine) -> str:
    lines = [f"  {src}  —  {title} ({n} passages)" for src, title, n in engine.sources()]
    return "Documents I answer from:\n" + "\n".join(lines)


def run_chat(engine: Engine, stdin: TextIO, out: TextIO, interactive: bool | None = None,
             usage: Recorder | None = None) -> int:
    """Chat until /quit or end of input. Piped input gets answers only: no banner, no prompt.

    Every question (not the /commands) is handed to ``usage``, which writes it in the background.
    """
    interactive = stdin.isatty() if interactive is None else interactive
    usage = usage or NullRecorder()
    conversations = Conversations(engine.settings)
    key = "terminal"
    if interactive:
        _setup_readline()
        print(f"faqbot — ask me about {engine.topics}. /help for commands, /quit to leave.", file=out)
    while True:
        try:
            line = input("you> ") if interactive else stdin.readline()
        except (EOFError, KeyboardInterrupt):
            if interactive:
                print(file=out)
            return 0
        if not interactive and line == "":
            return 0
        line = line.strip()
        if not line:
            continue
        command = line.lower()
        if command in ("/quit", "/exit", "/q"):
            return 0
        if command == "/help":
            print(HELP, file=out, flush=True)
        elif command == "/sources":
            print(sources_text(engine), file=out, flush=True)
        elif command == "/reset":
            conversations.reset(key)
            print("Okay, starting over.", file=out, flush=True)
        else:
            answer = conversations.ask(engine, key, line)
            usage.question(answer, "chat")
            if interactive and answer.used_context and answer.about:
                print(f"(about: {', '.join(answer.about)})", file=out)
            print(answer.reply + ("\n" if interactive else ""), file=out, flush=True)
            if not interactive:
                print(file=out, flush=True)
