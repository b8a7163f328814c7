"""The usage log (``bot.usage``): schema and migrations, hashed user ids, background writing that
never blocks or breaks answering, concurrent writers, retention, and ``FAQBOT_LOG=off``."""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
import sqlite3
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from conftest import BOTH_ROLES_QUESTION, UNRELATED_QUESTIONS, run_faqbot

import bot.usage as usage
from bot.cli import main
from bot.engine import Answer
from bot.usage import (
    SCHEMA_VERSION,
    NullRecorder,
    QuestionEvent,
    UsageConfig,
    UsageConfigError,
    UsageLog,
    UsageLogError,
    UsageRecorder,
    default_db_path,
    open_recorder,
    parse_duration,
)

DISCORD_USER = 123456789012345678


def _answer(question: str = "what does a coo do", kind: str = "answer", score: float = 0.9) -> Answer:
    answered = kind == "answer"
    return Answer(question, kind, "reply", score=score, text="passage" if answered else None,  # type: ignore[arg-type]
                  source="a.txt" if answered else None, section="S" if answered else None,
                  passage_id="0123456789ab" if answered else None)


def _rows(path: Path, sql: str = "SELECT * FROM questions ORDER BY id") -> list[sqlite3.Row]:
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


# -- configuration ----------------------------------------------------------------------------------
def test_config_from_the_environment(tmp_path: Path) -> None:
    assert UsageConfig.from_env({"FAQBOT_DB": str(tmp_path / "u.db")}) == UsageConfig(True, tmp_path / "u.db")
    for off in ("off", "OFF", "0", "false", "no"):
        assert not UsageConfig.from_env({"FAQBOT_LOG": off}).enabled
    assert UsageConfig.from_env({"FAQBOT_LOG": "on"}).enabled
    with pytest.raises(UsageConfigError, match="FAQBOT_LOG must be 'on' or 'off'"):
        UsageConfig.from_env({"FAQBOT_LOG": "sometimes"})


def test_default_path_is_the_users_data_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(usage.os, "name", "posix")
    assert default_db_path({"XDG_DATA_HOME": str(tmp_path)}) == tmp_path / "faqbot" / "usage.sqlite3"
    assert default_db_path({}) == Path.home() / ".local" / "share" / "faqbot" / "usage.sqlite3"
    assert default_db_path({"XDG_DATA_HOME": "relative/dir"}) == default_db_path({}), "XDG says: ignore relative"


def test_the_test_suite_never_writes_to_the_real_data_directory(usage_db: Path) -> None:
    config = UsageConfig.from_env(dict(__import__("os").environ))
    assert config.path == usage_db and not str(config.path).startswith(str(Path.home() / ".local"))


@pytest.mark.parametrize(("text", "seconds"), [("90d", 90 * 86400), ("12h", 12 * 3600), ("2w", 14 * 86400),
                                               ("30m", 1800), (" 7D ", 7 * 86400), ("1.5d", 1.5 * 86400)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "7", "d", "seven days", "-3d", "0d", "3y", "99999999w"])
def test_bad_durations_say_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match=r"duration"):
        parse_duration(text)


# -- schema -----------------------------------------------------------------------------------------
def test_a_new_log_gets_the_current_schema_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "usage.sqlite3"
    with UsageLog(path) as db:
        assert db.version == SCHEMA_VERSION
    tables = {r["name"] for r in _rows(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"meta", "questions", "feedback"} <= tables
    assert _rows(path, "PRAGMA journal_mode")[0][0] == "wal"
    with UsageLog(path) as db:  # opening again changes nothing
        assert db.version == SCHEMA_VERSION


def test_an_older_log_is_migrated_in_place_keeping_its_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "usage.sqlite3"
    with UsageLog(path) as db:
        db.write([QuestionEvent.from_answer(_answer(), "chat")])
    upgrade = ("ALTER TABLE questions ADD COLUMN language TEXT", "UPDATE questions SET language = 'en'")
    monkeypatch.setattr(usage, "MIGRATIONS", (*usage.MIGRATIONS, upgrade))
    monkeypatch.setattr(usage, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with UsageLog(path) as db:
        assert db.version == SCHEMA_VERSION + 1
    (row,) = _rows(path)
    assert row["question"] == "what does a coo do" and row["language"] == "en"


def test_a_failed_migration_leaves_the_log_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "usage.sqlite3"
    with UsageLog(path) as db:
        db.write([QuestionEvent.from_answer(_answer(), "chat")])
    broken = ("ALTER TABLE questions ADD COLUMN language TEXT", "THIS IS NOT SQL")
    monkeypatch.setattr(usage, "MIGRATIONS", (*usage.MIGRATIONS, broken))
    monkeypatch.setattr(usage, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(UsageLogError, match="cannot use the usage log"):
        UsageLog(path)
    assert _rows(path, "PRAGMA user_version")[0][0] == SCHEMA_VERSION
    assert "language" not in set(_rows(path)[0].keys())


def test_a_log_from_a_newer_faqbot_is_refused_not_damaged(tmp_path: Path) -> None:
    path = tmp_path / "usage.sqlite3"
    UsageLog(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    db.close()
    with pytest.raises(UsageLogError, match="newer faqbot"):
        UsageLog(path)
    assert _rows(path, "PRAGMA user_version")[0][0] == SCHEMA_VERSION + 5


def test_other_files_are_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a database at all " * 100)
    with pytest.raises(UsageLogError, match="cannot use the usage log"):
        UsageLog(text)
    other = tmp_path / "other.sqlite3"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE invoices (id INTEGER)")
    db.close()
    with pytest.raises(UsageLogError, match="not a faqbot usage log"):
        UsageLog(other)


# -- what is stored ---------------------------------------------------------------------------------
def test_a_question_row_has_ids_a_keyed_user_hash_and_the_answer(tmp_path: Path) -> None:
    path = tmp_path / "usage.sqlite3"
    with UsageLog(path) as db:
        db.write([QuestionEvent.from_answer(_answer(), "discord", guild_id=11, channel_id=22, user_id=DISCORD_USER),
                  QuestionEvent.from_answer(_answer(UNRELATED_QUESTIONS[0], "unknown", 0.1), "chat")])
    answered, unknown = _rows(path)
    assert (answered["frontend"], answered["guild_id"], answered["channel_id"]) == ("discord", 11, 22)
    assert (answered["passage_id"], answered["source"], answered["section"]) == ("0123456789ab", "a.txt", "S")
    assert answered["score"] == pytest.approx(0.9) and answered["abstained"] == 0 and answered["kind"] == "answer"
    assert unknown["abstained"] == 1 and unknown["passage_id"] is None and unknown["user_hash"] is None
    assert abs(answered["ts"] - time.time()) < 60

    key = bytes.fromhex(_rows(path, "SELECT value FROM meta WHERE key = 'user_hash_key'")[0][0])
    assert len(key) == 32
    expected = hmac.new(key, f"discord:{DISCORD_USER}".encode(), hashlib.sha256).hexdigest()
    assert answered["user_hash"] == expected
    assert answered["user_hash"] != hashlib.sha256(str(DISCORD_USER).encode()).hexdigest(), "keyed, not a bare hash"
    for suffix in ("", "-wal"):
        file = Path(f"{path}{suffix}")
        if file.exists():
            assert str(DISCORD_USER).encode() not in file.read_bytes(), "the raw user id is stored nowhere"


def test_user_hashes_are_stable_in_one_log_and_unrelated_across_logs(tmp_path: Path) -> None:
    with UsageLog(tmp_path / "a.sqlite3") as a, UsageLog(tmp_path / "b.sqlite3") as b:
        assert a.hash_user("discord", DISCORD_USER) == a.hash_user("discord", DISCORD_USER)
        assert a.hash_user("discord", DISCORD_USER) != a.hash_user("discord", DISCORD_USER + 1)
        assert a.hash_user("discord", DISCORD_USER) != b.hash_user("discord", DISCORD_USER), "a key per database"
        assert a.hash_user("chat", None) is None
        first = a.hash_user("discord", 1)
    with UsageLog(tmp_path / "a.sqlite3") as again:  # the key is kept in the file
        assert again.hash_user("discord", 1) == first


def test_one_vote_per_user_and_message_the_latest_wins(tmp_path: Path) -> None:
    path = tmp_path / "usage.sqlite3"
    with UsageRecorder(path) as recorder:
        for helpful in (True, False, False):
            recorder.feedback(frontend="discord", message_id=5, user_id=DISCORD_USER, helpful=helpful,
                              passage_id="0123456789ab", question="q")
        recorder.feedback(frontend="discord", message_id=5, user_id=DISCORD_USER + 1, helpful=True)
    rows = _rows(path, "SELECT helpful, passage_id FROM feedback ORDER BY id")
    assert [(r["helpful"], r["passage_id"]) for r in rows] == [(0, "0123456789ab"), (1, None)]


# -- writing in the background ----------------------------------------------------------------------
def test_recording_returns_at_once_even_while_the_file_is_locked(tmp_path: Path) -> None:
    path = tmp_path / "usage.sqlite3"
    UsageLog(path).close()
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holding the write lock
    recorder = UsageRecorder(path)
    try:
        started = time.perf_counter()
        for _ in range(100):
            recorder.question(_answer(), "chat")
        assert time.perf_counter() - started < 0.5, "recording is a queue put, not a write"
        assert not recorder.flush(timeout=0.3), "the writer is waiting for the lock meanwhile"
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert recorder.flush(timeout=10)
    recorder.close()
    assert len(_rows(path)) == 100


def test_a_failing_log_is_one_warning_and_answering_goes_on(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    recorder = UsageRecorder(blocked / "usage.sqlite3")  # its folder cannot be created
    with caplog.at_level(logging.DEBUG, logger="bot.usage"):
        for _ in range(3):
            recorder.question(_answer(), "chat")
            assert recorder.flush()
        recorder.close()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "answering goes on" in warnings[0].getMessage()
    assert recorder.written == 0


def test_the_recorder_recovers_when_the_log_works_again(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "later"
    folder.write_text("")  # a file where the folder should be, for now
    recorder = UsageRecorder(folder / "usage.sqlite3")
    with caplog.at_level(logging.INFO, logger="bot.usage"):
        recorder.question(_answer(), "chat")
        recorder.flush()
        folder.unlink()
        recorder.question(_answer("second"), "chat")
        recorder.close()
    assert [r["question"] for r in _rows(folder / "usage.sqlite3")] == ["second"]
    assert any("works again" in r.getMessage() for r in caplog.records)


def test_close_writes_what_is_pending_and_later_events_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "usage.sqlite3"
    recorder = UsageRecorder(path)
    for i in range(250):
        recorder.question(_answer(f"q{i}"), "ask")
    recorder.close()
    recorder.question(_answer("after close"), "ask")  # no error, no write
    recorder.close()
    assert [r["question"] for r in _rows(path)] == [f"q{i}" for i in range(250)]


def test_off_means_a_recorder_that_records_nothing(tmp_path: Path) -> None:
    recorder = open_recorder(UsageConfig(enabled=False, path=tmp_path / "usage.sqlite3"))
    assert isinstance(recorder, NullRecorder) and not recorder.enabled
    recorder.question(_answer(), "chat")
    recorder.feedback(frontend="discord", message_id=1, user_id=1, helpful=False)
    recorder.close()
    assert not (tmp_path / "usage.sqlite3").exists()


# -- concurrent writers -----------------------------------------------------------------------------
WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from bot.engine import Answer
    from bot.usage import UsageRecorder
    path, name, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    with UsageRecorder(path) as recorder:
        for i in range(count):
            recorder.question(Answer(f"{name}-{i}", "unknown", "no"), "ask")
            if i % 10 == 0:
                recorder.flush()  # many small transactions, to interleave with the others
""")


@pytest.mark.slow
def test_processes_and_threads_write_to_one_log_at_once(tmp_path: Path) -> None:
    import subprocess

    path = tmp_path / "usage.sqlite3"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    procs = [subprocess.Popen([sys.executable, str(script), str(path), f"p{n}", "150"], cwd=Path.cwd())
             for n in range(4)]
    recorders = [UsageRecorder(path) for _ in range(3)]

    def write(n: int) -> None:
        for i in range(150):
            recorders[n].question(_answer(f"t{n}-{i}"), "chat")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in recorders:
        r.close(timeout=30)
    assert [p.wait(60) for p in procs] == [0, 0, 0, 0]
    questions = [r["question"] for r in _rows(path)]
    assert len(questions) == 7 * 150 and len(set(questions)) == 7 * 150
    for name in ("p0", "p3", "t0", "t2"):  # each writer's rows are in its own order
        own = [q for q in questions if q.startswith(f"{name}-")]
        assert own == [f"{name}-{i}" for i in range(150)]


# -- retention --------------------------------------------------------------------------------------
def test_prune_deletes_old_questions_and_clicks_only(tmp_path: Path) -> None:
    path = tmp_path / "usage.sqlite3"
    now = time.time()
    with UsageLog(path) as db:
        db.write([QuestionEvent.from_answer(_answer(f"{age}d"), "chat", ts=now - age * 86400) for age in (1, 50, 100)])
        db.write([usage.FeedbackEvent(ts=now - age * 86400, frontend="discord", message_id=age, user_id=1,
                                      helpful=False) for age in (10, 200)])
        assert db.prune(90 * 86400, now=now) == (1, 1)
    assert [r["question"] for r in _rows(path)] == ["1d", "50d"]
    assert [r["message_id"] for r in _rows(path, "SELECT message_id FROM feedback")] == [10]
    assert "100d" not in path.read_bytes().decode("latin-1"), "pruned text is overwritten, not just unlinked"


# -- front ends -------------------------------------------------------------------------------------
def _chat(stdin: str, monkeypatch: pytest.MonkeyPatch, knowledge: Path) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return main(["chat", "--knowledge", str(knowledge)], out=io.StringIO())


def test_chat_records_every_question(shared_knowledge: Path, usage_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _chat(f"{BOTH_ROLES_QUESTION}\n/help\n{UNRELATED_QUESTIONS[0]}\nhello\n", monkeypatch, shared_knowledge) == 0
    rows = _rows(usage_db)
    assert [(r["question"], r["kind"], r["frontend"]) for r in rows] == [
        (BOTH_ROLES_QUESTION, "answer", "chat"), (UNRELATED_QUESTIONS[0], "unknown", "chat"),
        ("hello", "smalltalk", "chat")]
    assert rows[0]["passage_id"] and rows[0]["user_hash"] is None and rows[0]["guild_id"] is None


def test_faqbot_log_off_records_nothing(shared_knowledge: Path, usage_db: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAQBOT_LOG", "off")
    assert _chat(f"{BOTH_ROLES_QUESTION}\n", monkeypatch, shared_knowledge) == 0
    out = io.StringIO()
    assert main(["ask", "--log", "--knowledge", str(shared_knowledge), BOTH_ROLES_QUESTION], out=out) == 0
    assert "Yes" in out.getvalue()
    assert not usage_db.exists()


def test_a_bad_faqbot_log_value_is_one_clear_line(shared_knowledge: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FAQBOT_LOG", "maybe")
    assert _chat("hello\n", monkeypatch, shared_knowledge) == 2
    assert capsys.readouterr().err == "faqbot: error: FAQBOT_LOG must be 'on' or 'off', got 'maybe'\n"


def test_ask_records_only_with_log(shared_knowledge: Path, usage_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["ask", "--knowledge", str(shared_knowledge), BOTH_ROLES_QUESTION], out=io.StringIO()) == 0
    assert not usage_db.exists()
    assert main(["ask", "--log", "--knowledge", str(shared_knowledge), BOTH_ROLES_QUESTION], out=io.StringIO()) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{UNRELATED_QUESTIONS[0]}\n{UNRELATED_QUESTIONS[1]}\n"))
    assert main(["ask", "--log", "--json", "--knowledge", str(shared_knowledge)], out=io.StringIO()) == 0
    assert [(r["question"], r["frontend"]) for r in _rows(usage_db)] == [
        (BOTH_ROLES_QUESTION, "ask"), (UNRELATED_QUESTIONS[0], "ask"), (UNRELATED_QUESTIONS[1], "ask")]


def test_an_unwritable_log_does_not_stop_the_answers(shared_knowledge: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    result = run_faqbot("ask", "--log", "--knowledge", str(shared_knowledge), BOTH_ROLES_QUESTION, cwd=tmp_path,
                        env={"FAQBOT_DB": str(tmp_path / "file" / "usage.sqlite3")})
    assert result.returncode == 0 and "Yes, in some organizations" in result.stdout
    assert result.stderr.count("Could not write to the usage log") == 1 and "Traceback" not in result.stderr
