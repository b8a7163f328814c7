"""The ``faqbot`` command: a thin layer that parses arguments, calls the engine, prints results.

Every expected failure (missing folder, bad config, broken input line) becomes one clear line on
stderr and a non-zero exit status; tracebacks are shown only with ``-v``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from bot import __version__

log = logging.getLogger("faqbot")

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
BUNDLED_KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"


class CliError(Exception):
    """An error to report as one line, with an exit status."""

    def __init__(self, message: str, status: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.status = status


def default_knowledge() -> Path:
    """``$FAQBOT_KNOWLEDGE``, else ./knowledge, else the articles bundled with faqbot."""
    env = os.environ.get("FAQBOT_KNOWLEDGE")
    if env:
        return Path(env)
    local = Path("knowledge")
    if local.is_dir() or not BUNDLED_KNOWLEDGE.is_dir():
        return local
    return BUNDLED_KNOWLEDGE


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {value}")
    return number


def _fraction(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1: {value}")
    return number


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--knowledge", type=Path, metavar="DIR",
                        help="folder of .txt/.md articles (default: $FAQBOT_KNOWLEDGE or ./knowledge)")
    common.add_argument("--index", type=Path, metavar="DIR", help="index folder (default: <knowledge>/.index)")
    common.add_argument("--config", type=Path, metavar="FILE", help="settings file (default: <knowledge>/faqbot.toml)")
    common.add_argument("-v", "--verbose", action="store_true", help="debug logging and full tracebacks")

    answering = argparse.ArgumentParser(add_help=False)
    answering.add_argument("--top-k", type=_positive_int, metavar="N", help="alternatives per answer")
    answering.add_argument("--threshold", type=_fraction, metavar="X",
                           help="minimum confidence to answer (overrides the one stored with the index)")

    parser = argparse.ArgumentParser(
        prog="faqbot", description="A FAQ chatbot that answers questions from a folder of articles.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"faqbot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p_index = sub.add_parser("index", parents=[common], help="rebuild the index from the knowledge folder")
    p_index.set_defaults(func=cmd_index)

    p_ask = sub.add_parser("ask", parents=[common, answering], help="answer one question (or stdin lines)")
    p_ask.add_argument("question", nargs="*", help="the question; omit it to read one input per line from stdin")
    p_ask.add_argument("--json", action="store_true", help="print JSON objects instead of text")
    p_ask.set_defaults(func=cmd_ask)

    p_chat = sub.add_parser("chat", parents=[common, answering], help="chat in the terminal")
    p_chat.set_defaults(func=cmd_chat)

    p_discord = sub.add_parser("discord", parents=[common, answering], help="run the Discord bot")
    p_discord.add_argument("--sync", action="store_true", help="publish slash commands, then run")
    p_discord.add_argument("--shards", type=_positive_int, metavar="N", help="run N shards in this process")
    p_discord.add_argument("--shard-ids", metavar="IDS", help="comma-separated shard ids for this process")
    p_discord.add_argument("--shard-count", type=_positive_int, metavar="N", help="total shards across processes")
    p_discord.set_defaults(func=cmd_discord)
    return parser


def _settings(args: argparse.Namespace, knowledge: Path):
    from bot.config import CONFIG_FILE, load_settings

    config = args.config or knowledge / CONFIG_FILE
    if args.config and not args.config.is_file():
        raise CliError(f"config file not found: {args.config}")
    settings = load_settings(config)
    return settings.with_overrides(top_k=getattr(args, "top_k", None))


def open_engine(args: argparse.Namespace, rebuild: bool = False):
    """The engine for the command's knowledge folder and config (re-read on every call), with the
    index rebuilt when stale, missing, or ``rebuild`` is asked for."""
    from bot.engine import Engine

    knowledge = args.knowledge or default_knowledge()
    settings = _settings(args, knowledge)
    return Engine.open(knowledge, args.index, settings, rebuild=rebuild, threshold=getattr(args, "threshold", None))


# -- commands -------------------------------------------------------------------------------
def cmd_index(args: argparse.Namespace, out: TextIO) -> int:
    from bot.index_store import build_index

    knowledge = args.knowledge or default_knowledge()
    _, report = build_index(knowledge, args.index, _settings(args, knowledge))
    print("\n".join(report.lines()), file=out)
    return EXIT_OK


def _parse_line(line: str) -> tuple[Any, str, str | None, str | None]:
    """(id, question, session, error) from one batch input line: plain text or a JSON object."""
    stripped = line.strip()
    if not stripped.startswith("{"):
        return None, line.rstrip("\r\n"), None, None
    try:
        obj = json.loads(stripped)
    except json.JSONDecodeError as exc:
        return None, line.rstrip("\r\n"), None, f"this line is not valid JSON ({exc.msg} at column {exc.colno})"
    if not isinstance(obj, dict):
        return None, stripped, None, "expected a JSON object"
    question = obj.get("question")
    if not isinstance(question, str):
        return obj.get("id"), "", None, 'the JSON object needs a "question" string'
    session = obj.get("session")
    return obj.get("id"), question, None if session is None else str(session), None


def _error_object(id_: Any, question: str, message: str) -> dict[str, Any]:
    return {"id": id_, "question": question, "kind": "unknown", "answer": None, "score": 0.0,
            "source": None, "section": None, "alternatives": [], "reply": message}


def run_batch(engine, lines: Iterable[str], out: TextIO, as_json: bool) -> int:
    """Answer one input per line, printing (and flushing) one result per line, in order."""
    from bot.conversation import Conversations

    conversations = Conversations(engine.settings)
    for line in lines:
        id_, question, session, error = _parse_line(line)
        if error:
            result = _error_object(id_, question, f"Could not read this input: {error}.")
            print(json.dumps(result, ensure_ascii=False) if as_json else result["reply"], file=out, flush=True)
            continue
        answer = conversations.ask(engine, session, question) if session else engine.ask(question)
        print(json.dumps(answer.to_json(id_), ensure_ascii=False) if as_json else answer.reply + "\n",
              file=out, flush=True)
    return EXIT_OK


def cmd_ask(args: argparse.Namespace, out: TextIO) -> int:
    engine = open_engine(args)
    if not args.question:
        return run_batch(engine, sys.stdin, out, args.json)
    answer = engine.ask(" ".join(args.question))
    print(json.dumps(answer.to_json(), ensure_ascii=False) if args.json else answer.reply, file=out)
    return EXIT_OK


def cmd_chat(args: argparse.Namespace, out: TextIO) -> int:
    from bot.chat import run_chat

    return run_chat(open_engine(args), sys.stdin, out)


def cmd_discord(args: argparse.Namespace, out: TextIO) -> int:
    from bot.discord_app.runner import run_discord  # only this command needs discord.py

    return run_discord(args, open_engine)


# -- entry point -----------------------------------------------------------------------------
def _setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("faqbot: %(message)s" if not verbose else
                                           "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    from bot.config import ConfigError
    from bot.index_store import KnowledgeError
    from bot.vocabulary import VocabularyError

    out = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(out)
        return EXIT_USAGE
    if args.command != "discord":  # the Discord runner sets up discord.py's own logging
        _setup_logging(args.verbose)
    try:
        return args.func(args, out)
    except (CliError, KnowledgeError, ConfigError, VocabularyError) as exc:
        print(f"faqbot: error: {exc}", file=sys.stderr)
        return getattr(exc, "status", EXIT_ERROR)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); nothing left to say.
        sys.stderr.close()
        return EXIT_OK
    except Exception as exc:  # a bug: say so in one line unless asked for details
        if args.verbose:
            raise
        print(f"faqbot: unexpected error: {type(exc).__name__}: {exc} (run with -v for details)",
              file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
