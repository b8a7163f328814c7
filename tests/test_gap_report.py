"""``faqbot report``: unanswered and low-confidence questions grouped by similarity, "Not helpful"
passages, the answer rate over time, as a table or JSON; ``--suggest``; ``--prune``; bad values."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from bot.cli import main
from bot.gaps import group_similar, question_terms
from bot.usage import FeedbackEvent, QuestionEvent, UsageLog
from bot.vocabulary import Vocabulary

NOW = time.time()
DAY = 86400.0
PASSAGE = "0123456789ab"


def faqbot(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(args), out=out), out.getvalue()


def q(question: str, kind: str = "unknown", score: float = 0.2, *, age_days: float = 0.0, user: int | None = None,
      passage: str | None = None, reason: str | None = None) -> QuestionEvent:
    answered = kind == "answer"
    return QuestionEvent(ts=NOW - age_days * DAY, frontend="discord" if user else "chat", question=question, kind=kind,
                         score=score, reason=reason or ("low_confidence" if kind == "unknown" else None),
                         passage_id=passage if answered else None, source="coo.txt" if answered else None,
                         section="Salary" if answered else None, guild_id=7 if user else None,
                         channel_id=8 if user else None, user_id=user)


def click(message: int, user: int, helpful: bool, passage: str | None = PASSAGE,
          question: str = "coo salary") -> FeedbackEvent:
    return FeedbackEvent(ts=NOW, frontend="discord", message_id=message, user_id=user, helpful=helpful,
                         question=question, passage_id=passage, guild_id=7, channel_id=8)


@pytest.fixture
def seeded(usage_db: Path) -> Path:
    """A usage log with three groups of gaps, answered questions, small talk and clicks."""
    with UsageLog(usage_db) as db:
        db.write([
            q("How much moolah does a COO get?", user=1), q("how much moolah does a coo get", user=2),
            q("coo moolah", user=1), q("moolah for a coo?", age_days=1),
            q("best pizza topping", age_days=2), q("what is the best pizza topping?", age_days=2),
            q("does the coo wear a tie", "answer", 0.54, passage="aaaaaaaaaaaa", age_days=1),
            q("what does a coo do", "answer", 0.93, passage=PASSAGE), q("coo salary", "answer", 0.91, passage=PASSAGE),
            q("coo salary", "answer", 0.91, passage=PASSAGE, age_days=1), q("hello", "smalltalk", 0.0),
            q("   ", "unknown", 0.0, reason="empty"),
            q("an old question nobody asks any more", age_days=40),
        ])
        db.write([click(100, 1, False), click(100, 2, False), click(100, 3, True),
                  click(101, 1, False, passage="aaaaaaaaaaaa", question="does the coo wear a tie"),
                  click(102, 4, True, passage="bbbbbbbbbbbb")])
    return usage_db


# -- grouping ---------------------------------------------------------------------------------------
def test_near_duplicates_are_grouped_and_different_questions_are_not() -> None:
    vocabulary = Vocabulary.load(Path(__file__).resolve().parent.parent / "knowledge" / "synonyms.ini")
    questions = ["how much does a chief operating officer earn", "coo salary", "what is the coo's pay",
                 "best pizza topping", "what's the best pizza topping?", "how do i reverse a linked list",
                 "vp ops salary"]
    groups = group_similar(questions, lambda text: question_terms(text, vocabulary))
    named = sorted(sorted(questions[i] for i in g) for g in groups)
    assert sorted(["coo salary", "how much does a chief operating officer earn", "what is the coo's pay"]) in named
    assert ["best pizza topping", "what's the best pizza topping?"] in named
    assert ["vp ops salary"] in named, "another role is another question"
    assert ["how do i reverse a linked list"] in named


def test_synonyms_fold_wordings_together() -> None:
    vocabulary = Vocabulary(roles={"COO": ["chief operating officer"]}, terms={"salary": ["pay", "earn"]})
    assert question_terms("what does a chief operating officer earn", vocabulary) == \
        question_terms("coo salary", vocabulary)
    assert question_terms("coo pay") != question_terms("coo salary"), "without the vocabulary they differ"


# -- the report -------------------------------------------------------------------------------------
def test_text_report_lists_gaps_most_frequent_first_then_feedback_and_answer_rate(seeded: Path) -> None:
    status, out = faqbot("report")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].startswith("Usage report from ") and str(seeded) in lines[0]
    assert "Questions: 11 (4 answered, 6 unanswered, 1 small talk); answer rate 40%; " \
           "answered below 75% confidence: 1" in out
    gaps = lines[lines.index("Unanswered and low-confidence questions, most frequent first") + 1:]
    header, rule, first, second, third = gaps[:5]
    assert header.split() == ["#", "asked", "unanswered", "low", "conf.", "best", "question"]
    assert set(rule.replace(" ", "")) == {"-"}
    assert first.split()[:5] == ["1", "4", "4", "0", "20%"]
    assert "How much moolah does a COO get?  (+2 similar)" in first, "the most common wording; same words count once"
    assert second.split()[:5] == ["2", "2", "2", "0", "20%"] and "pizza" in second and "(+1 similar)" in second
    assert third.split()[:5] == ["3", "1", "0", "1", "54%"] and "does the coo wear a tie" in third
    assert "an old question" not in out, "the default period is 30 days; 40 days ago is outside it"
    feedback = lines[lines.index('Passages with the most "Not helpful" clicks') + 3:]
    assert feedback[0].split()[:3] == ["2", "1", "coo.txt"] and "Salary" in feedback[0]
    assert feedback[1].split()[:2] == ["1", "0"] and "wear a tie" in feedback[1]
    assert "bbbbbbbbbbbb" not in out, "passages nobody found unhelpful are not listed"
    rate = lines[lines.index("Answer rate by day (UTC; small talk not counted)") + 3:]
    assert [r.split()[0] for r in rate] == sorted(r.split()[0] for r in rate)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d\s+\d+\s+\d+\s+\d+%", r.strip()) for r in rate)


def test_since_limits_the_period(seeded: Path) -> None:
    _, everything = faqbot("report", "--since", "all", "--json")
    _, recent = faqbot("report", "--since", "12h", "--json")
    assert json.loads(everything)["totals"]["questions"] == 12, "all but the empty one"
    assert json.loads(everything)["since"] is None
    data = json.loads(recent)
    assert data["totals"] == {"questions": 6, "answered": 2, "unanswered": 3, "smalltalk": 1, "low_confidence": 0,
                              "answer_rate": 0.4}
    assert [g["question"].lower().rstrip("?") for g in data["gaps"]] == ["how much moolah does a coo get"]


def test_json_report(seeded: Path) -> None:
    status, out = faqbot("report", "--json", "--since", "7d")
    assert status == 0
    data = json.loads(out)
    assert set(data) == {"since", "until", "usage_log", "low_confidence_below", "totals", "gaps", "gap_groups_total",
                         "not_helpful", "answer_rate"}
    assert data["usage_log"] == str(seeded) and data["low_confidence_below"] == 0.75
    first = data["gaps"][0]
    assert (first["count"], first["unanswered"], first["low_confidence"], first["users"]) == (4, 4, 0, 2)
    assert {v["question"]: v["count"] for v in first["variants"]} == {
        "How much moolah does a COO get?": 2, "coo moolah": 1, "moolah for a coo?": 1}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", first["last_asked"])
    assert [(g["count"], g["low_confidence"]) for g in data["gaps"]] == [(4, 0), (2, 0), (1, 1)]
    assert data["not_helpful"][0] == {"passage_id": PASSAGE, "source": "coo.txt", "section": "Salary",
                                      "not_helpful": 2, "helpful": 1, "example_question": "coo salary"}
    periods = data["answer_rate"]["periods"]
    assert data["answer_rate"]["unit"] == "day" and sum(p["questions"] for p in periods) == 10
    assert all(set(p) == {"period", "questions", "answered", "unanswered", "rate"} for p in periods)


def test_low_confidence_bar_can_be_set(seeded: Path) -> None:
    _, out = faqbot("report", "--json", "--low-confidence", "0.95")
    data = json.loads(out)
    assert data["low_confidence_below"] == 0.95 and data["totals"]["low_confidence"] == 4
    salary = next(g for g in data["gaps"] if g["question"] == "coo salary")
    assert (salary["count"], salary["unanswered"], salary["low_confidence"]) == (2, 0, 2)


def test_long_periods_are_reported_by_week(seeded: Path) -> None:
    _, out = faqbot("report", "--json", "--since", "90d")
    rate = json.loads(out)["answer_rate"]
    assert rate["unit"] == "week" and all(re.fullmatch(r"\d{4}-W\d\d", p["period"]) for p in rate["periods"])


def test_no_log_yet_is_an_empty_report_not_an_error(usage_db: Path) -> None:
    status, out = faqbot("report")
    assert status == 0 and "No questions recorded in this period." in out and "no usage log yet" in out
    status, out = faqbot("report", "--json")
    assert status == 0 and json.loads(out)["totals"]["questions"] == 0
    assert not usage_db.exists(), "reading does not create the log"


def test_recording_off_is_mentioned(seeded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAQBOT_LOG", "off")
    _, out = faqbot("report")
    assert "(recording is off: FAQBOT_LOG=off)" in out and "moolah" in out


@pytest.mark.parametrize(("args", "message"), [
    (["--since", "lately"], "argument --since: not a duration: 'lately'"),
    (["--since", "0d"], "argument --since: the duration must be longer than zero"),
    (["--prune", "all"], "argument --prune: not a duration: 'all'"),
    (["--prune", "5 days"], "argument --prune: not a duration"),
    (["--low-confidence", "2"], "argument --low-confidence: must be between 0 and 1"),
])
def test_bad_values_are_clear_usage_errors(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["report", *args])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_file_that_is_not_a_usage_log_is_one_clear_line(usage_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    usage_db.write_text("hello " * 1000)
    assert faqbot("report")[0] == 1
    err = capsys.readouterr().err
    assert err.startswith(f"faqbot: error: cannot use the usage log {usage_db}") and err.count("\n") == 1


# -- retention --------------------------------------------------------------------------------------
def test_prune_deletes_old_rows(seeded: Path) -> None:
    status, out = faqbot("report", "--prune", "36h")
    assert status == 0
    assert out == f"Deleted 3 questions and 0 feedback clicks older than 36h from {seeded}.\n"
    ages = sqlite3.connect(seeded).execute("SELECT min(ts) FROM questions").fetchone()[0]
    assert ages >= NOW - 36 * 3600
    status, out = faqbot("report", "--prune", "1h", "--json")
    assert json.loads(out) == {"usage_log": str(seeded), "older_than": "1h", "deleted_questions": 3,
                               "deleted_feedback": 0}


def test_prune_without_a_log(usage_db: Path) -> None:
    assert faqbot("report", "--prune", "90d") == (0, f"Nothing to prune: there is no usage log at {usage_db}.\n")
    assert not usage_db.exists()


# -- suggestions ------------------------------------------------------------------------------------
def test_suggest_points_a_frequent_unknown_word_at_the_articles_word(shared_knowledge: Path, usage_db: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    asked = ["how much moolah does a coo get", "How much moolah does a COO get?", "coo moolah?",
             "who is the chief of staff", "what does a chief of staff do", "does the coo wear a tie"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(asked) + "\n"))
    assert main(["ask", "--log", "--knowledge", str(shared_knowledge)], out=io.StringIO()) == 0

    status, out = faqbot("report", "--suggest", "--knowledge", str(shared_knowledge))
    assert status == 0
    section = out[out.index("Suggestions for frequent unanswered questions"):]
    assert '"how much moolah does a coo get" — asked 3 times' in section
    assert "suggested line for [terms] in synonyms.ini:  salary = moolah" in section
    assert 'to add it:  faqbot alias add "moolah" "salary"' in section
    assert "chief of staff" in section and "a job the articles don't cover" in section
    assert "wear a tie" not in section, "asked once: below --min-count 2"

    _, out = faqbot("report", "--suggest", "--json", "--min-count", "1", "--knowledge", str(shared_knowledge))
    suggestions = json.loads(out)["suggestions"]
    assert suggestions[0]["synonyms_line"] == "salary = moolah" and suggestions[0]["closest_source"]
    assert suggestions[0]["command"] == 'faqbot alias add "moolah" "salary"'
    assert len(suggestions) == 3 and suggestions[2]["question"] == "does the coo wear a tie"
    assert all(set(s) >= {"question", "count", "closest_source", "closest_section", "closest_confidence", "term",
                          "target", "synonyms_line", "note"} for s in suggestions)
