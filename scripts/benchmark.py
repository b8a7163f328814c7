#!/usr/bin/env python3
"""Answer-quality and speed benchmark: faqbot against plain TF-IDF and BM25 on the same passages.

    python scripts/benchmark.py                                  # the project's own sets
    python scripts/benchmark.py --questions ../shared/eval/dev.jsonl --dialogues ../shared/eval/dialogues_dev.jsonl
    python scripts/benchmark.py --calibrate                      # refit confidence + threshold
    python scripts/benchmark.py --scale [1000,10000] [--json]    # speed and size vs bm25s at scale

Question files are JSONL: {"id", "question", "gold": [verbatim snippets], "kind": in|ood|chit}.
Dialogue files: {"id", "turns": [{"question", "gold", "kind": in|followup|switch}]}.
Baselines get the abstention threshold that is best for them on the same file (an upper bound);
faqbot uses the threshold stored with its index. BM25 needs the ``bench`` extra (rank-bm25).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import smalltalk  # noqa: E402
from bot.config import CONFIG_FILE, Settings, load_settings  # noqa: E402
from bot.conversation import Conversations  # noqa: E402
from bot.engine import Engine, confidence_features  # noqa: E402
from bot.evaluation import (  # noqa: E402
    Outcome,
    best_threshold,
    engine_outcome,
    load_questions,
    percentile_ms,
    summarize,
)
from bot.index_store import build_index  # noqa: E402
from bot.ingest import Passage  # noqa: E402

C_CALIBRATION = 30.0  # light regularisation: chosen by training on two question sets and testing on the third
DEFAULT_QUESTIONS = ROOT / "tests" / "eval" / "questions.jsonl"
DEFAULT_DIALOGUES = ROOT / "tests" / "eval" / "dialogues.jsonl"


@dataclass
class SystemRun:
    name: str
    outcomes: list[Outcome]
    build_seconds: float
    latencies: list[float]
    note: str = ""


# -- baselines --------------------------------------------------------------------------------
class Baseline:
    """A plain retriever over the same passages: rank, and the top score as its confidence."""

    name = "baseline"

    def __init__(self, passages: Sequence[Passage]) -> None:
        self.texts = [p.text for p in passages]
        started = time.perf_counter()
        self.build()
        self.build_seconds = time.perf_counter() - started

    def build(self) -> None:
        raise NotImplementedError

    def scores(self, question: str) -> np.ndarray:
        raise NotImplementedError

    def rank(self, question: str, k: int = 10) -> tuple[list[str], float]:
        s = self.scores(question)
        order = np.argsort(-s, kind="stable")[:k]
        return [self.texts[i] for i in order], float(s[order[0]]) if len(order) else 0.0


class PlainTfidf(Baseline):
    name = "TfidfVectorizer (default)"

    def build(self) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vectorizer = TfidfVectorizer()
        self.matrix = self.vectorizer.fit_transform(self.texts)

    def scores(self, question: str) -> np.ndarray:
        return (self.matrix @ self.vectorizer.transform([question]).T).toarray().ravel()


class Bm25(Baseline):
    name = "BM25 (rank_bm25 Okapi)"

    @staticmethod
    def tokens(text: str) -> list[str]:
        return re.findall(r"\w+", text.lower())

    def build(self) -> None:
        from rank_bm25 import BM25Okapi

        self.bm25 = BM25Okapi([self.tokens(t) for t in self.texts])

    def scores(self, question: str) -> np.ndarray:
        return np.asarray(self.bm25.get_scores(self.tokens(question)))


def run_baseline(baseline: Baseline, rows: Sequence[dict]) -> SystemRun:
    ranked, latencies = [], []
    for row in rows:
        started = time.perf_counter()
        texts, score = baseline.rank(row["question"])
        latencies.append(time.perf_counter() - started)
        ranked.append((row, texts, score))
    # Give the baseline its best possible abstention threshold on this very file.
    right = [bool(r["gold"]) and bool(t) and _hit(t[0], r["gold"]) for r, t, _ in ranked]
    threshold, _ = best_threshold([s for _, _, s in ranked], right, [not r["gold"] for r, _, _ in ranked])
    outcomes = [Outcome(r["kind"], tuple(t), tuple(r["gold"]), s, s >= threshold) for r, t, s in ranked]
    return SystemRun(baseline.name, outcomes, baseline.build_seconds, latencies, "best threshold for it")


def _hit(text: str, gold: Sequence[str]) -> bool:
    from bot.evaluation import is_hit

    return is_hit(text, gold)


# -- faqbot ----------------------------------------------------------------------------------
# Loads what the first typo and the first word no article uses need (the index's English stem and
# word tables, the speller's word groups): once per process, measured as cold start by ``--scale``.
WARM_UP = "whats the responsibilitys of a zorblax wrangler"


def run_faqbot(engine: Engine, rows: Sequence[dict], build_seconds: float) -> SystemRun:
    engine.ask(WARM_UP)  # latency is per question in a running bot; one-time loading is not part of it
    outcomes, latencies = [], []
    for row in rows:
        started = time.perf_counter()
        answer = engine.ask(row["question"])
        latencies.append(time.perf_counter() - started)
        outcomes.append(engine_outcome(engine, row, answer))
    return SystemRun("faqbot", outcomes, build_seconds, latencies, f"threshold {engine.threshold:.2f}")


# -- reporting --------------------------------------------------------------------------------
def _fmt(x: float, digits: int = 3) -> str:
    return "  n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def print_table(title: str, runs: Sequence[SystemRun]) -> None:
    first = summarize(runs[0].outcomes)
    print(f"\n{title}  ({first.n_in} answerable, {first.n_out} out-of-domain/small talk)")
    head = f"{'system':28} {'hit@1':>6} {'hit@3':>6} {'MRR@10':>7} {'abst.ood':>8} {'AUROC':>6} " \
           f"{'e2e acc':>7} {'build s':>8} {'p50 ms':>7} {'p99 ms':>7}  note"
    print(head)
    print("-" * len(head))
    for run in runs:
        m = summarize(run.outcomes)
        print(f"{run.name:28} {_fmt(m.hit1):>6} {_fmt(m.hit3):>6} {_fmt(m.mrr10):>7} {_fmt(m.abstain_ood):>8} "
              f"{_fmt(m.auroc):>6} {_fmt(m.accuracy):>7} {_fmt(run.build_seconds):>8} "
              f"{_fmt(percentile_ms(run.latencies, 50), 2):>7} {_fmt(percentile_ms(run.latencies, 99), 2):>7}"
              f"  {run.note}")


def print_failures(run: SystemRun, rows: Sequence[dict]) -> None:
    print(f"\nfaqbot misses ({run.name}):")
    for row, o in zip(rows, run.outcomes, strict=True):
        if not o.correct:
            top = (o.ranked[0][:90] + "…") if o.ranked else "-"
            what = "answered" if o.answered else "abstained"
            print(f"  [{o.kind:8}] {row['question']!r}: {what} (score {o.score:.2f}, gold rank {o.rank}) -> {top!r}")


# -- dialogues --------------------------------------------------------------------------------
def load_dialogues(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def dialogue_rows(dialogues: Sequence[dict]) -> list[dict]:
    return [{"question": t["question"], "gold": t.get("gold", []), "kind": t["kind"], "dialogue": d["id"]}
            for d in dialogues for t in d["turns"]]


def run_dialogues(engine: Engine, dialogues: Sequence[dict]) -> tuple[SystemRun, SystemRun]:
    """faqbot with conversation context, and faqbot answering each turn on its own."""
    with_context, alone, latencies = [], [], []
    conversations = Conversations(engine.settings)
    for dialogue in dialogues:
        key = ("bench", dialogue["id"])
        for turn in dialogue["turns"]:
            row = {"question": turn["question"], "gold": turn.get("gold", []), "kind": turn["kind"]}
            started = time.perf_counter()
            answer = conversations.ask(engine, key, turn["question"])
            latencies.append(time.perf_counter() - started)
            with_context.append(engine_outcome(engine, row, answer))
            alone.append(engine_outcome(engine, row, engine.ask(turn["question"])))
    return (SystemRun("faqbot (conversation)", with_context, 0.0, latencies),
            SystemRun("faqbot (each turn alone)", alone, 0.0, []))


def print_dialogues(runs: Sequence[SystemRun]) -> None:
    kinds = ["in", "followup", "switch"]
    print(f"\n{'dialogue turns: hit@1':28} " + " ".join(f"{k:>9}" for k in kinds) + f" {'all':>7}")
    for run in runs:
        cells = []
        for kind in kinds:
            sel = [o for o in run.outcomes if o.kind == kind]
            cells.append(f"{sum(o.answered and o.rank == 1 for o in sel) / len(sel):.3f}" if sel else "n/a")
        total = sum(o.answered and o.rank == 1 for o in run.outcomes) / max(1, len(run.outcomes))
        n = {k: sum(o.kind == k for o in run.outcomes) for k in kinds}
        print(f"{run.name:28} " + " ".join(f"{c:>9}" for c in cells) + f" {total:7.3f}   n={n}")


# -- calibration ----------------------------------------------------------------------------
def calibrate(engine: Engine, rows: Sequence[dict], config: Path) -> None:
    """Fit the confidence (logistic regression on the top passage's features) and the threshold."""
    from sklearn.linear_model import LogisticRegression

    features, labels, answerable = [], [], []
    for row in rows:
        if smalltalk.detect(row["question"]):
            continue  # answered as small talk before any retrieval
        query = engine.retriever.analyzer.query(row["question"])
        hits = engine.retriever.retrieve(query, k=1)
        features.append(confidence_features(hits[0], query, engine.retriever.covers_roles(query.roles)))
        labels.append(bool(row["gold"]) and _hit(hits[0].passage.text, row["gold"]))
        answerable.append(bool(row["gold"]))
    model = LogisticRegression(C=C_CALIBRATION, max_iter=5000).fit(np.asarray(features), np.asarray(labels))
    weights = [round(float(w), 3) for w in model.coef_[0]]
    bias = round(float(model.intercept_[0]), 3)
    probs = model.predict_proba(np.asarray(features))[:, 1]
    # Abstaining is right only for questions the articles don't answer.
    threshold, accuracy = best_threshold(list(probs), labels, [not a for a in answerable])
    # A round, middle-of-the-gap threshold generalises better than the exact optimum.
    threshold = round(float(threshold), 2)
    print(f"\ncalibration on {len(labels)} questions: weights {weights}, bias {bias}, "
          f"threshold {threshold} (accuracy on these {accuracy:.3f})")
    write_calibration(config, threshold, weights, bias)
    print(f"written to {config}; rebuild the index (faqbot index) to use it")


def write_calibration(config: Path, threshold: float, weights: Sequence[float], bias: float) -> None:
    block = (
        "[calibration]\n"
        "# Written by scripts/benchmark.py --calibrate: confidence = logistic(bias + weights . features)\n"
        "# with features (score, content coverage, role match, off-topic job title, unknown word share,\n"
        "# role miss): see bot.engine.confidence_features.\n"
        f"threshold = {threshold}\n"
        f"confidence_weights = [{', '.join(str(w) for w in weights)}]\n"
        f"confidence_bias = {bias}\n"
    )
    text = config.read_text(encoding="utf-8") if config.is_file() else ""
    pattern = re.compile(r"^\[calibration\]\n(?:(?!\[).*\n?)*", re.MULTILINE)
    text = pattern.sub(block + "\n", text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + block
    config.write_text(text.lstrip("\n"), encoding="utf-8")


# -- main -------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=Path, nargs="*", default=None,
                        help=f"question files (default: {DEFAULT_QUESTIONS.relative_to(ROOT)})")
    parser.add_argument("--dialogues", type=Path, nargs="*", default=None,
                        help=f"dialogue files (default: {DEFAULT_DIALOGUES.relative_to(ROOT)})")
    parser.add_argument("--knowledge", type=Path, default=ROOT / "knowledge")
    parser.add_argument("--config", type=Path, default=None, help="settings file (default: <knowledge>/faqbot.toml)")
    parser.add_argument("--failures", action="store_true", help="list the questions faqbot gets wrong")
    parser.add_argument("--no-baselines", action="store_true", help="only run faqbot")
    parser.add_argument("--calibrate", action="store_true",
                        help="fit confidence and threshold on the question files and write them to the config")
    parser.add_argument("--scale", nargs="?", const="1000,10000,100000", default=None, metavar="SIZES",
                        help="instead, run the scale benchmark (faqbot vs bm25s) on synthetic knowledge bases "
                             "of these many passages (default 1000,10000,100000); see scripts/scale_bench.py")
    parser.add_argument("--json", action="store_true", help="with --scale: print the results as JSON")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="with --scale: generate the knowledge bases into (and reuse them from) DIR")
    args = parser.parse_args(argv)
    if args.scale is not None:
        sys.path.insert(0, str(ROOT / "scripts"))
        import scale_bench

        return scale_bench.main([f"--sizes={args.scale}", *(["--json"] if args.json else []),
                                 *([f"--keep={args.keep}"] if args.keep else [])])

    config = args.config or args.knowledge / CONFIG_FILE
    settings = load_settings(config) if config.is_file() else Settings()
    question_files = args.questions if args.questions is not None else [DEFAULT_QUESTIONS]
    dialogue_files = args.dialogues if args.dialogues is not None else [DEFAULT_DIALOGUES]

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        retriever, report = build_index(args.knowledge, Path(tmp), settings)
        build_seconds = time.perf_counter() - started
        engine = Engine.open(args.knowledge, Path(tmp), settings)
    passages = retriever.passages_
    print(f"knowledge: {args.knowledge} — {report.documents} documents, {len(passages)} passages, "
          f"vocabulary {report.vocabulary}; faqbot index build {build_seconds:.2f} s (incl. reading files)")

    if args.calibrate:
        rows = [r for f in question_files for r in load_questions(f)]
        calibrate(engine, rows, config)
        return 0

    for path in question_files:
        rows = load_questions(path)
        runs = [run_faqbot(engine, rows, build_seconds)]
        if not args.no_baselines:
            runs.append(run_baseline(PlainTfidf(passages), rows))
            try:
                runs.append(run_baseline(Bm25(passages), rows))
            except ImportError:
                print("(BM25 baseline skipped: pip install -e '.[bench]' for rank-bm25)")
        print_table(f"{path}", runs)
        if args.failures:
            print_failures(runs[0], rows)
    for path in dialogue_files:
        dialogues = load_dialogues(path)
        print(f"\n{path}: {len(dialogues)} dialogues")
        print_dialogues(run_dialogues(engine, dialogues))
    return 0


if __name__ == "__main__":
    sys.exit(main())
