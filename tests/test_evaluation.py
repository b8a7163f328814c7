"""The benchmark's arithmetic, on tiny hand-made outcomes whose metrics are known."""

from __future__ import annotations

import contextlib
import json
import math
import sys
from pathlib import Path

import pytest

from bot.evaluation import Outcome, auroc, best_threshold, first_hit_rank, is_hit, load_questions, summarize

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import benchmark


def outcome(kind, ranked, gold, score, answered):
    return Outcome(kind, tuple(ranked), tuple(gold), score, answered)


def test_is_hit_needs_a_gold_snippet_and_a_short_enough_text():
    assert is_hit("The COO reports to the CEO. More text.", ["reports to the CEO"])
    assert is_hit("The COO  reports\nto the CEO.", ["COO reports to the CEO"])  # whitespace-insensitive
    assert not is_hit("The COO reports to the board.", ["reports to the CEO"])
    assert not is_hit("reports to the CEO " + "x" * 1200, ["reports to the CEO"])  # too long to show
    assert not is_hit(None, ["x"]) and not is_hit("x", [])


def test_first_hit_rank():
    assert first_hit_rank(["a", "b gold", "gold c"], ["gold"]) == 2
    assert first_hit_rank(["a", "b"], ["gold"]) is None


def test_summarize_on_known_outcomes():
    outcomes = [
        outcome("in", ["gold 1", "x"], ["gold 1"], 0.9, True),  # rank 1, answered: right
        outcome("in", ["x", "gold 2"], ["gold 2"], 0.8, True),  # rank 2, answered: wrong
        outcome("in", ["x", "y", "z", "gold 3"], ["gold 3"], 0.3, False),  # rank 4, abstained: wrong
        outcome("in", ["x"], ["gold 4"], 0.2, False),  # not found
        outcome("ood", ["x"], [], 0.1, False),  # abstained: right
        outcome("chit", [], [], 0.0, False),  # small talk: right
        outcome("ood", ["y"], [], 0.85, True),  # answered: wrong
    ]
    m = summarize(outcomes)
    assert (m.n_in, m.n_out) == (4, 3)
    assert m.hit1 == pytest.approx(1 / 4)
    assert m.hit3 == pytest.approx(2 / 4)
    assert m.mrr10 == pytest.approx((1 + 1 / 2 + 1 / 4) / 4)
    assert m.abstain_ood == pytest.approx(2 / 3)
    assert m.accuracy == pytest.approx(3 / 7)
    # scores of answerable (0.9, 0.8, 0.3, 0.2) vs not (0.1, 0.0, 0.85): 9 of 12 pairs ordered right
    assert m.auroc == pytest.approx(9 / 12)


def test_auroc_is_nan_with_one_class():
    assert math.isnan(auroc([0.1, 0.2], [True, True]))
    assert auroc([0.1, 0.9], [False, True]) == 1.0


def test_best_threshold_maximises_end_to_end_accuracy():
    scores = [0.9, 0.8, 0.6, 0.4, 0.3]
    right_if_answered = [True, True, False, False, True]
    t, accuracy = best_threshold(scores, right_if_answered)
    assert 0.6 < t <= 0.8 and accuracy == pytest.approx(4 / 5)


def test_best_threshold_with_questions_wrong_either_way():
    # An answerable question with a wrong top passage is wrong answered or not.
    scores = [0.9, 0.7, 0.5]
    t, accuracy = best_threshold(scores, [True, False, False], [False, False, True])
    assert 0.5 < t <= 0.9 and accuracy == pytest.approx(2 / 3)


def test_load_questions_fills_defaults(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"question": "a?"}) + "\n\n" + json.dumps({"question": "b?", "gold": ["x"]}) + "\n")
    rows = load_questions(path)
    assert [(r["kind"], r["gold"]) for r in rows] == [("ood", []), ("in", ["x"])]


def test_baselines_rank_on_the_same_passages():
    from bot.ingest import Passage

    passages = [Passage(text=t, source="s.txt", title="T", section=None, kind="section", position=i, line=i)
                for i, t in enumerate(["The chief operating officer runs operations.",
                                       "Salary figures vary by location and company size.",
                                       "Managers track budgets every quarter.", "Directors plan the year ahead.",
                                       "Teams meet on Mondays to review goals."])]
    rows = [{"question": "what salary figures", "gold": ["Salary figures vary"], "kind": "in"},
            {"question": "pizza toppings", "gold": [], "kind": "ood"}]
    baselines = [benchmark.PlainTfidf(passages)]
    with contextlib.suppress(ImportError):  # rank-bm25 is in the "bench" extra, not needed by the tests
        baselines.append(benchmark.Bm25(passages))
    for baseline in baselines:
        run = benchmark.run_baseline(baseline, rows)
        m = summarize(run.outcomes)
        assert m.hit1 == 1.0 and m.accuracy == 1.0 and len(run.latencies) == 2


def test_benchmark_prints_the_table(capsys):
    root = Path(__file__).resolve().parent.parent
    assert benchmark.main(["--questions", str(root / "tests/eval/questions.jsonl"), "--dialogues",
                           "--no-baselines"]) == 0
    out = capsys.readouterr().out
    for column in ("hit@1", "hit@3", "MRR@10", "abst.ood", "AUROC", "e2e acc", "build s", "p50 ms", "p99 ms"):
        assert column in out
