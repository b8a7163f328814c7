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
from typing import Any, NamedTuple, TextIO

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


class Duration(NamedTuple):
    text: str  # as typed, for messages
    seconds: float | None  # None: no limit ("all")


def _duration(value: str, allow_all: bool = True) -> Duration:
    from bot.usage import parse_duration

    if allow_all and value.strip().lower() == "all":
        return Duration("all", None)
    try:
        return Duration(value.strip(), parse_duration(value))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _age(value: str) -> Duration:
    return _duration(value, allow_all=False)


def _common_options(for_command: bool) -> argparse.ArgumentParser:
    """The options every command takes, before or after the command's name. A command's copy has
    no defaults, so "faqbot --knowledge kb index" keeps the folder given before the command's name
    (argparse would reset it to the command's default)."""
    default = argparse.SUPPRESS if for_command else None
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--knowledge", type=Path, metavar="DIR", default=default,
                        help="folder of .txt/.md articles (default: $FAQBOT_KNOWLEDGE or ./knowledge)")
    common.add_argument("--index", type=Path, metavar="DIR", default=default,
                        help="index folder (default: <knowledge>/.index)")
    common.add_argument("--config", type=Path, metavar="FILE", default=default,
                        help="settings file (default: <knowledge>/faqbot.toml)")
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS if for_command else False,
                        help="debug logging and full tracebacks")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common_options(for_command=True)

    answering = argparse.ArgumentParser(add_help=False)
    answering.add_argument("--top-k", type=_positive_int, metavar="N", help="alternatives per answer")
    answering.add_argument("--threshold", type=_fraction, metavar="X",
                           help="minimum confidence to answer (overrides the one stored with the index)")

    parser = argparse.ArgumentParser(
        prog="faqbot", description="A FAQ chatbot that answers questions from a folder of articles.",
        parents=[_common_options(for_command=False)],
    )
    parser.add_argument("--version", action="version", version=f"faqbot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p_index = sub.add_parser("index", parents=[common], help="rebuild the index from the knowledge folder")
    p_index.set_defaults(func=cmd_index)

    p_ask = sub.add_parser("ask", parents=[common, answering], help="answer one question (or stdin lines)")
    p_ask.add_argument("question", nargs="*", help="the question; omit it to read one input per line from stdin")
    p_ask.add_argument("--json", action="store_true", help="print JSON objects instead of text")
    p_ask.add_argument("--log", action="store_true", help="record the questions in the usage log ($FAQBOT_DB)")
    p_ask.set_defaults(func=cmd_ask)

    p_chat = sub.add_parser("chat", parents=[common, answering], help="chat in the terminal")
    p_chat.set_defaults(func=cmd_chat)

    p_discord = sub.add_parser("discord", parents=[common, answering], help="run the Discord bot")
    p_discord.add_argument("--sync", action="store_true", help="publish slash commands, then run")
    p_discord.add_argument("--shards", type=_positive_int, metavar="N", help="run N shards in this process")
    p_discord.add_argument("--shard-ids", metavar="IDS", help="comma-separated shard ids for this process")
    p_discord.add_argument("--shard-count", type=_positive_int, metavar="N", help="total shards across processes")
    p_discord.set_defaults(func=cmd_discord)

    p_report = sub.add_parser("report", parents=[common],
                              help="questions the articles don't answer, from the usage log ($FAQBOT_DB)")
    p_report.add_argument("--since", type=_duration, default=Duration("30d", 30 * 86400.0), metavar="AGE",
                          help="the period to report on, e.g. 7d, 12h, 2w, or 'all' (default: 30d)")
    p_report.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p_report.add_argument("--suggest", action="store_true",
                          help="for frequent unanswered questions: the closest passage and a synonym to add")
    p_report.add_argument("--min-count", type=_positive_int, default=2, metavar="N",
                          help="suggest only for questions asked at least N times (default: 2)")
    p_report.add_argument("--limit", type=_positive_int, default=20, metavar="N",
                          help="question groups to list (default: 20)")
    p_report.add_argument("--low-confidence", type=_fraction, metavar="X",
                          help="answers below this confidence count as gaps (default: auto_answer_threshold)")
    p_report.add_argument("--prune", type=_age, metavar="AGE",
                          help="instead of reporting, delete records older than AGE (e.g. 90d)")
    p_report.set_defaults(func=cmd_report)

    p_alias = sub.add_parser("alias", parents=[common], help="edit the synonyms file (synonyms.ini)")
    alias_sub = p_alias.add_subparsers(dest="alias_command", metavar="ACTION", required=True)
    p_alias_add = alias_sub.add_parser("add", parents=[common],
                                       help='add TERM as another way to say TARGET (e.g. "moolah" "salary")')
    p_alias_add.add_argument("term", help="the word or phrase people use")
    p_alias_add.add_argument("target", help="what it means: a word the articles use, or a role")
    p_alias_add.set_defaults(func=cmd_alias_add)
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


def run_batch(engine, lines: Iterable[str], out: TextIO, as_json: bool, usage=None) -> int:
    """Answer one input per line, printing (and flushing) one result per line, in order; each
    answer is recorded with ``usage`` (a ``bot.usage`` recorder) when one is given."""
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
        if usage is not None:
            usage.question(answer, "ask")
    return EXIT_OK


def cmd_ask(args: argparse.Namespace, out: TextIO) -> int:
    engine = open_engine(args)
    with _recorder() if args.log else _no_recorder() as usage:
        if not args.question:
            return run_batch(engine, sys.stdin, out, args.json, usage)
        answer = engine.ask(" ".join(args.question))
        print(json.dumps(answer.to_json(), ensure_ascii=False) if args.json else answer.reply, file=out)
        usage.question(answer, "ask")
    return EXIT_OK


def cmd_chat(args: argparse.Namespace, out: TextIO) -> int:
    from bot.chat import run_chat

    engine = open_engine(args)
    with _recorder() as usage:
        return run_chat(engine, sys.stdin, out, usage=usage)


def cmd_discord(args: argparse.Namespace, out: TextIO) -> int:
    from bot.discord_app.runner import run_discord  # only this command needs discord.py

    return run_discord(args, open_engine)


# -- the usage log --------------------------------------------------------------------------------
def usage_config():
    """``FAQBOT_LOG`` and ``FAQBOT_DB`` as a ``bot.usage.UsageConfig`` (the Discord runner uses it too)."""
    from bot.usage import UsageConfig, UsageConfigError

    try:
        return UsageConfig.from_env(os.environ)
    except UsageConfigError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None


def _recorder():
    """The usage recorder the environment asks for; it writes in the background, so a slow or
    broken log file never delays an answer (a failed write is one warning on stderr)."""
    from bot.usage import open_recorder

    config = usage_config()
    if not config.enabled:
        log.debug("Not recording questions: FAQBOT_LOG=off")
    return open_recorder(config)


def _no_recorder():
    from bot.usage import NullRecorder

    return NullRecorder()


def cmd_report(args: argparse.Namespace, out: TextIO) -> int:
    import sqlite3
    from dataclasses import replace

    from bot.gaps import add_suggestions, read_report
    from bot.usage import UsageLogError
    from bot.vocabulary import VOCABULARY_FILE, Vocabulary

    config = usage_config()
    try:
        if args.prune is not None:
            return _prune(config.path, args.prune, args.json, out)
        knowledge = args.knowledge or default_knowledge()
        low = args.low_confidence
        if low is None:
            low = _settings(args, knowledge).auto_answer_threshold
        engine = open_engine(args) if args.suggest else None
        if engine is not None:
            vocabulary = engine.retriever.analyzer.vocabulary
        else:  # grouping folds synonyms together when the knowledge folder is at hand
            vocabulary = Vocabulary.load(knowledge / VOCABULARY_FILE) if knowledge.is_dir() else None
        report = read_report(config.path, since=args.since.seconds, low_confidence=low, vocabulary=vocabulary,
                             limit=args.limit)
        if engine is not None:
            report = add_suggestions(report, engine, min_count=args.min_count)
    except UsageLogError as exc:
        raise CliError(str(exc)) from exc
    except sqlite3.Error as exc:
        raise CliError(f"cannot read the usage log {config.path}: {exc}") from exc
    if not config.enabled:
        report = replace(report, note="; ".join(filter(None, [report.note, "recording is off: FAQBOT_LOG=off"])))
    print(json.dumps(report.to_json(), ensure_ascii=False, indent=2) if args.json else "\n".join(report.lines()),
          file=out)
    return EXIT_OK


def _prune(path: Path, age: Duration, as_json: bool, out: TextIO) -> int:
    from bot.usage import UsageLog

    questions = clicks = 0
    if path.is_file():
        with UsageLog(path, create=False) as db:
            questions, clicks = db.prune(age.seconds or 0.0)
    if as_json:
        print(json.dumps({"usage_log": str(path), "older_than": age.text, "deleted_questions": questions,
                          "deleted_feedback": clicks}), file=out)
    elif not path.is_file():
        print(f"Nothing to prune: there is no usage log at {path}.", file=out)
    else:
        print(f"Deleted {questions} questions and {clicks} feedback clicks older than {age.text} from {path}.",
              file=out)
    return EXIT_OK


def cmd_alias_add(args: argparse.Namespace, out: TextIO) -> int:
    from bot.index_store import check_knowledge
    from bot.vocabulary import VOCABULARY_FILE, add_alias

    knowledge = args.knowledge or default_knowledge()
    check_knowledge(knowledge)
    added = add_alias(knowledge / VOCABULARY_FILE, args.term, args.target)
    where = "a new group" if added.new_group else f'"{added.canonical}"'
    print(f'Added "{added.term}" to {where} in [{added.section}] of {added.path}.\n'
          "It takes effect the next time faqbot loads the index (rebuilt automatically then); "
          "a running Discord bot picks it up with /faq reload.", file=out)
    return EXIT_OK


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
