"""Retrieval and answer-quality metrics, shared by ``scripts/benchmark.py`` and its tests.

An evaluation item is a question with ``gold`` snippets (verbatim text of the passage that
answers it) and a ``kind``: ``in`` (answerable), ``ood`` (not answered by the articles) or
``chit`` (small talk). A ranked passage is a hit when it contains any gold snippet and is short
enough to be shown as an answer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from bot.engine import Answer, Engine

MAX_ANSWER_CHARS = 1200


def _squash(text: str) -> str:
    return " ".join(text.split())


def is_hit(text: str | None, gold: Sequence[str], max_chars: int = MAX_ANSWER_CHARS) -> bool:
    """True when ``text`` contains a gold snippet (whitespace-insensitive) and is short enough."""
    if not text or not gold or len(text) > max_chars:
        return False
    flat = _squash(text)
    return any(g in text or _squash(g) in flat for g in gold)


def first_hit_rank(texts: Sequence[str], gold: Sequence[str]) -> int | None:
    """1-based rank of the first hit among ranked passage texts, or None."""
    for rank, text in enumerate(texts, start=1):
        if is_hit(text, gold):
            return rank
    return None


@dataclass(frozen=True)
class Outcome:
    """One system's result on one question."""

    kind: str  # in / ood / chit (or followup / switch for dialogue turns)
    ranked: tuple[str, ...]  # passage texts, best first (up to 10)
    gold: tuple[str, ...]
    score: float  # the system's confidence in its top passage
    answered: bool  # did it answer with a passage (vs. abstain / small talk)?

    @property
    def rank(self) -> int | None:
        return first_hit_rank(self.ranked, self.gold) if self.gold else None

    @property
    def correct(self) -> bool:
        """End-to-end: answerable questions answered with a right passage; others not answered."""
        if self.gold:
            return self.answered and self.rank == 1
        return not self.answered


@dataclass(frozen=True)
class Metrics:
    n_in: int
    n_out: int
    hit1: float
    hit3: float
    mrr10: float
    abstain_ood: float  # share of out-of-domain questions (ood + chit) not answered with a passage
    auroc: float  # how well the score ranks answerable questions above out-of-domain ones
    accuracy: float  # end-to-end accuracy over all questions


def auroc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """Area under the ROC curve; NaN when only one class is present."""
    labels = [bool(x) for x in labels]
    if len(set(labels)) < 2:
        return float("nan")
    return float(roc_auc_score(labels, list(scores)))


def summarize(outcomes: Sequence[Outcome]) -> Metrics:
    answerable = [o for o in outcomes if o.gold]
    others = [o for o in outcomes if not o.gold]
    ranks = [o.rank for o in answerable]
    n = len(answerable)
    hit1 = sum(r == 1 for r in ranks) / n if n else float("nan")
    hit3 = sum(r is not None and r <= 3 for r in ranks) / n if n else float("nan")
    mrr = sum(1.0 / r for r in ranks if r is not None and r <= 10) / n if n else float("nan")
    abstain = sum(not o.answered for o in others) / len(others) if others else float("nan")
    score_auc = auroc([o.score for o in outcomes], [bool(o.gold) for o in outcomes])
    accuracy = sum(o.correct for o in outcomes) / len(outcomes) if outcomes else float("nan")
    return Metrics(n, len(others), hit1, hit3, mrr, abstain, score_auc, accuracy)


def best_threshold(scores: Sequence[float], right_if_answered: Sequence[bool],
                   right_if_abstained: Sequence[bool] | None = None) -> tuple[float, float]:
    """The abstention threshold maximising end-to-end accuracy, and that accuracy.

    Question i is handled right when it is answered (score >= threshold) and
    ``right_if_answered[i]``, or abstained on and ``right_if_abstained[i]``. By default abstaining
    is right exactly when answering is not; pass ``right_if_abstained`` for questions where both
    are wrong (an answerable question whose top passage is wrong).
    """
    if not scores:
        return 0.0, float("nan")
    if right_if_abstained is None:
        right_if_abstained = [not ok for ok in right_if_answered]
    rows = list(zip(scores, right_if_answered, right_if_abstained, strict=True))
    values = sorted(set(scores))
    candidates = [values[0] - 1e-9] + [(a + b) / 2 for a, b in pairwise(values)] \
        + [values[-1] + 1e-9]
    best = (0.0, -1.0)
    for t in candidates:
        right = sum(ans if s >= t else abst for s, ans, abst in rows) / len(rows)
        if right > best[1] + 1e-12:
            best = (t, right)
    return best


def engine_outcome(engine: Engine, row: dict, answer: Answer) -> Outcome:
    """Score faqbot's ``answer`` to ``row``; the ranking behind it is recomputed for hit@3 and MRR."""
    ranked: tuple[str, ...] = ()
    if answer.kind != "smalltalk":
        query = engine.retriever.analyzer.query(answer.resolved or row["question"])
        ranked = tuple(h.passage.text for h in engine.retriever.retrieve(query, k=10))
    if answer.kind == "answer" and answer.text and ranked and ranked[0] != answer.text:
        ranked = (answer.text, *[t for t in ranked if t != answer.text])  # a picked choice, two passages
    return Outcome(row["kind"], ranked, tuple(row["gold"]), answer.score, answer.kind == "answer")


def percentile_ms(seconds: Iterable[float], q: float) -> float:
    values = list(seconds)
    return float(np.percentile(np.asarray(values) * 1000.0, q)) if values else math.nan


def load_questions(path: Path) -> list[dict]:
    """Questions from a JSONL file (``id``, ``question``, ``gold``, ``kind``)."""
    rows = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            if not isinstance(row, dict) or "question" not in row:
                raise ValueError(f"{path}:{n}: expected an object with a 'question'")
            row.setdefault("gold", [])
            row.setdefault("kind", "in" if row["gold"] else "ood")
            rows.append(row)
    return rows
