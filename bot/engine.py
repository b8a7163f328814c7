"""The answer engine every front end uses: a question in, an ``Answer`` out.

It decides between answering with the best passage, small talk, and "I don't know" (with the
closest topics as suggestions) using a calibrated confidence. It never imports discord.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bot import smalltalk
from bot.analysis import Query
from bot.config import Settings
from bot.index_store import LoadedIndex, load_index
from bot.retriever import Hit, TfidfRetriever
from bot.textproc import normalize

log = logging.getLogger(__name__)

Kind = Literal["answer", "smalltalk", "unknown"]


@dataclass(frozen=True)
class Alternative:
    text: str
    source: str
    section: str | None
    score: float

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "source": self.source, "section": self.section, "score": round(self.score, 4)}


@dataclass(frozen=True)
class Answer:
    """What the bot says to one question, plus everything a front end needs to show it."""

    question: str
    kind: Kind
    reply: str  # the full text a user would see
    score: float = 0.0  # confidence of the best passage (also when not answering with it)
    text: str | None = None  # the passage, when answering with one
    source: str | None = None
    title: str | None = None
    section: str | None = None
    alternatives: tuple[Alternative, ...] = ()
    suggestions: tuple[str, ...] = ()  # closest topics, offered with "I don't know"
    about: tuple[str, ...] = ()  # roles the question was understood to be about
    reason: str | None = None  # why there is no answer: "empty", "too_long", "low_confidence"
    resolved: str | None = None  # the question as understood in context, when context was used

    def to_json(self, id: Any = None) -> dict[str, Any]:
        """The JSON contract of ``faqbot ask --json``: exactly these keys."""
        answered = self.kind == "answer"
        return {
            "id": id,
            "question": self.question,
            "kind": self.kind,
            "answer": self.text if answered else None,
            "score": round(float(self.score), 4),
            "source": self.source if answered else None,
            "section": self.section if answered else None,
            "alternatives": [a.to_json() for a in self.alternatives],
            "reply": self.reply,
        }


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, x))))


def confidence_features(hit: Hit, query: Query, covers_roles: bool = True) -> list[float]:
    """Features the calibrated confidence is computed from (see ``Settings.confidence_weights``):
    the passage's score; how much of what was asked (roles aside) it contains; how well it is
    about the roles asked; whether the question is about a job the articles don't cover; the
    share of the question's words no article uses."""
    unknown_share = len(query.unknown_words) / max(1, query.content_words)
    off_topic = bool(query.unknown_titles) or (bool(query.roles) and not covers_roles)
    return [hit.score, hit.content_coverage, hit.role_match, float(off_topic), unknown_share]


@dataclass
class EngineStats:
    questions: int = 0
    answered: int = 0
    unknown: int = 0
    smalltalk: int = 0
    started_at: float = field(default_factory=time.time)


class Engine:
    """Answers questions from one loaded index. Thread-safe for concurrent ``ask`` calls."""

    def __init__(self, retriever: TfidfRetriever, settings: Settings, *, calibration: dict | None = None,
                 knowledge: Path | None = None, index_dir: Path | None = None, built_at: float = 0.0) -> None:
        self.retriever = retriever
        self.settings = settings
        calibration = calibration or {}
        self.threshold = float(calibration.get("threshold", settings.threshold))
        self.weights = tuple(float(w) for w in calibration.get("confidence_weights", settings.confidence_weights))
        self.bias = float(calibration.get("confidence_bias", settings.confidence_bias))
        self.knowledge = knowledge
        self.index_dir = index_dir
        self.built_at = built_at
        self.stats = EngineStats()
        self._lock = threading.Lock()
        self.topics = self._topics()
        self.example = self._example()

    @classmethod
    def open(cls, knowledge: Path, index_dir: Path | None = None, settings: Settings | None = None,
             *, rebuild: bool = False, threshold: float | None = None) -> Engine:
        """Load (or build, when missing or stale) the index for a knowledge folder."""
        settings = settings or Settings()
        loaded: LoadedIndex = load_index(knowledge, index_dir, settings, rebuild=rebuild)
        calibration = dict(loaded.calibration)
        if threshold is not None:
            calibration["threshold"] = threshold
        return cls(loaded.retriever, settings, calibration=calibration, knowledge=knowledge,
                   index_dir=index_dir, built_at=loaded.built_at)

    # -- facts about the knowledge ---------------------------------------------------------
    def sources(self) -> list[tuple[str, str, int]]:
        """(file, title, passages) per document."""
        counts: dict[tuple[str, str], int] = {}
        for p in self.retriever.passages_:
            counts[(p.source, p.title)] = counts.get((p.source, p.title), 0) + 1
        return [(src, title, n) for (src, title), n in sorted(counts.items())]

    def _topics(self) -> str:
        vocabulary = self.retriever.analyzer.vocabulary
        titles = " ".join(self.retriever.analyzer.canonical(t) for _, t, _ in self.sources())
        names = [name for token, name in vocabulary.role_names.items() if token in titles]
        if not names:
            names = [t for _, t, _ in self.sources()][:3]
        return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else (names[0] if names else "")

    def _example(self) -> str:
        for p in self.retriever.passages_:
            if p.question and len(p.question) < 80:
                return p.question
        return "What is this about?"

    # -- answering -----------------------------------------------------------------------
    def confidence(self, hit: Hit, query: Query) -> float:
        x = confidence_features(hit, query, self.retriever.covers_roles(query.roles))
        return _sigmoid(self.bias + sum(w * f for w, f in zip(self.weights, x, strict=False)))

    def ask(self, question: str) -> Answer:
        """Answer one self-contained question."""
        answer = self._answer(question)
        with self._lock:
            self.stats.questions += 1
            if answer.kind == "answer":
                self.stats.answered += 1
            elif answer.kind == "smalltalk":
                self.stats.smalltalk += 1
            else:
                self.stats.unknown += 1
        return answer

    def _answer(self, question: str) -> Answer:
        text = normalize(question)
        if not text or not any(ch.isalnum() for ch in text):
            return Answer(question, "unknown", "Please type a question, e.g. \"" + self.example + "\"",
                          reason="empty")
        limit = self.settings.max_question_chars
        if len(question) > limit:
            return Answer(question, "unknown",
                          f"That question is too long ({len(question):,} characters); please keep it under "
                          f"{limit:,} characters.", reason="too_long")
        chat = smalltalk.detect(question)
        if chat is not None:
            return Answer(question, "smalltalk", chat.reply(self.topics, self.example))
        query = self.retriever.analyzer.query(question)
        return self.answer_query(question, query)

    def answer_query(self, question: str, query: Query) -> Answer:
        """Answer from an analysed query (the conversation layer may have rewritten it)."""
        hits = self.retriever.retrieve(query, k=max(self.settings.top_k, self.settings.suggestions) + 1)
        about = tuple(self.retriever.analyzer.vocabulary.role_names.get(r, r) for r in query.roles)
        if not hits or hits[0].score <= 0:
            return self._unknown(question, hits, query, 0.0, about)
        scored = [(hit, self.confidence(hit, query)) for hit in hits]
        best, conf = scored[0]
        if conf < self.threshold:
            return self._unknown(question, hits, query, conf, about)
        alternatives = tuple(
            Alternative(h.passage.text, h.passage.source, h.passage.section, c)
            for h, c in scored[1:self.settings.top_k + 1]
        )
        p = best.passage
        return Answer(
            question, "answer", self._format(p.text, p.title, p.section, p.source, conf), score=conf,
            text=p.text, source=p.source, title=p.title, section=p.section,
            alternatives=alternatives, about=about,
        )

    def _unknown(self, question: str, hits: Sequence[Hit], query: Query, conf: float,
                 about: tuple[str, ...]) -> Answer:
        suggestions = self._suggestions(hits) if hits and hits[0].score > 0 else ()
        reply = "Sorry, I don't know the answer to that."
        if suggestions:
            reply += " Closest topics I know about:\n" + "\n".join(f"  • {s}" for s in suggestions)
        else:
            reply += f" I can answer questions about {self.topics}."
        return Answer(question, "unknown", reply, score=conf, suggestions=suggestions, about=about,
                      reason="low_confidence")

    def _suggestions(self, hits: Sequence[Hit]) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for hit in hits:
            p = hit.passage
            label = p.question or (f"{p.section} ({p.title})" if p.section and p.section != p.title else p.title)
            seen.setdefault(label, None)
            if len(seen) >= self.settings.suggestions:
                break
        return tuple(seen)

    @staticmethod
    def _format(text: str, title: str, section: str | None, source: str, conf: float) -> str:
        where = f"{title} › {section}" if section and section != title else title
        return f"{text}\n\n— {where} ({source}) · confidence {conf:.0%}"
