"""Answer quality on the project's own evaluation set stays at or above what faqbot reached.

The floors are fixed numbers measured with ``scripts/benchmark.py`` (see the README); a change
that lowers quality fails here. The set itself (tests/eval/) is checked for consistency too.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from bot.conversation import Conversations
from bot.evaluation import engine_outcome, is_hit, load_questions, summarize

EVAL = Path(__file__).resolve().parent / "eval"
QUESTIONS = load_questions(EVAL / "questions.jsonl")
DIALOGUES = [json.loads(line) for line in (EVAL / "dialogues.jsonl").read_text(encoding="utf-8").splitlines()
             if line.strip()]

# Reached on tests/eval with the bundled knowledge and knowledge/faqbot.toml (benchmark run in the README).
FLOOR_HIT1 = 0.95
FLOOR_ACCURACY = 0.96
FLOOR_ABSTAIN_OOD = 0.97
# 48 of 51: ranking "and a vp ops, what ...?" beside the passage just shown gained ten follow-ups
# on the other sets and lost one here.
FLOOR_FOLLOWUP_HIT1 = 0.94
FLOOR_SWITCH_HIT1 = 0.96


def test_evaluation_set_is_big_enough_and_well_formed(shared_knowledge):
    kinds = Counter(q["kind"] for q in QUESTIONS)
    assert len(QUESTIONS) >= 120 and kinds["in"] >= 100 and kinds["ood"] >= 20 and kinds["chit"] >= 8
    assert len({q["id"] for q in QUESTIONS}) == len(QUESTIONS)
    assert len(DIALOGUES) >= 30
    texts = [p.read_text(encoding="utf-8") for p in shared_knowledge.glob("*.txt")]
    items = [(q["kind"], q["gold"]) for q in QUESTIONS] + [(t["kind"], t["gold"]) for d in DIALOGUES
                                                          for t in d["turns"]]
    for kind, gold in items:
        assert bool(gold) == (kind not in ("ood", "chit"))
        for snippet in gold:  # verbatim text of the articles
            assert any(snippet in text for text in texts), snippet


def test_single_questions_stay_above_the_floor(engine):
    outcomes = [engine_outcome(engine, q, engine.ask(q["question"])) for q in QUESTIONS]
    m = summarize(outcomes)
    assert m.hit1 >= FLOOR_HIT1
    assert m.accuracy >= FLOOR_ACCURACY
    assert m.abstain_ood >= FLOOR_ABSTAIN_OOD


def test_small_talk_is_never_answered_with_a_passage(engine):
    for q in QUESTIONS:
        if q["kind"] == "chit":
            assert engine.ask(q["question"]).kind == "smalltalk", q["question"]


@pytest.mark.parametrize(("kind", "floor"), [("followup", FLOOR_FOLLOWUP_HIT1), ("switch", FLOOR_SWITCH_HIT1)])
def test_dialogues_stay_above_the_floor(engine, kind, floor):
    conversations = Conversations(engine.settings)
    hits = []
    for dialogue in DIALOGUES:
        for turn in dialogue["turns"]:
            answer = conversations.ask(engine, dialogue["id"], turn["question"])
            if turn["kind"] == kind:
                hits.append(answer.kind == "answer" and is_hit(answer.text, turn["gold"]))
    assert sum(hits) / len(hits) >= floor
