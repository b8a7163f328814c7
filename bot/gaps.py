"""The knowledge-gap report: what people ask that the articles don't answer, read from the usage log.

* unanswered and low-confidence questions, near-duplicates grouped together (TF-IDF cosine
  similarity over the question's terms, with the knowledge base's synonyms and role names folded
  in, so "coo pay?" and "how much does a COO earn" count as one), most frequent first;
* the passages with the most "Not helpful" clicks;
* the answer rate per day (per ISO week over long periods);
* with ``add_suggestions``: for each frequent group, the closest passage and a line for the
  synonyms file that would connect the question's unknown word to the passage's wording.

``GapReport.lines()`` is the terminal table, ``GapReport.to_json()`` the JSON for scripts.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from bot.engine import Engine
from bot.textproc import STOP_WORDS, content_terms, normalize, stem, words
from bot.usage import UsageLog
from bot.vocabulary import Vocabulary

GROUP_SIMILARITY = 0.5  # cosine similarity at which two questions are the same question
MAX_DISTINCT = 5000  # distinct gap questions grouped (the most frequent); the rest are only counted
DAILY_UP_TO_DAYS = 62  # longer periods get the answer rate per week


# -- grouping ---------------------------------------------------------------------------------------
def question_terms(question: str, vocabulary: Vocabulary | None = None) -> list[str]:
    """The stemmed content terms of a question, role names and synonyms replaced by their
    canonical word, so that different wordings of one question get the same terms."""
    text = normalize(question)
    if vocabulary is None:
        return content_terms(text)
    text = vocabulary.canonicalize(text)
    for alias, canonical in vocabulary.expansions(text):
        text = re.sub(rf"(?<![\w$]){re.escape(alias)}(?![\w$])", f" {canonical} ", text)
    return content_terms(" ".join(w for w in words(text) if w not in vocabulary.stopwords))


def group_similar(keys: Sequence[str], terms_of: Callable[[str], list[str]],
                  threshold: float = GROUP_SIMILARITY) -> list[list[int]]:
    """Indices of ``keys`` (most important first) in groups of near-duplicates.

    Greedy: each question joins the group whose first question it is most similar to, if at least
    ``threshold``, else starts a group. Comparing with the first question only (not a growing
    centroid) keeps a group from drifting from one topic to another through a chain of neighbours.
    """
    if not keys:
        return []
    terms = [terms_of(k) for k in keys]
    if not any(terms):
        return [[i] for i in range(len(keys))]
    from sklearn.feature_extraction.text import TfidfVectorizer  # only reports need it: keep start-up light

    vectorizer = TfidfVectorizer(analyzer=lambda i: terms[i], sublinear_tf=True)
    matrix = vectorizer.fit_transform(range(len(keys))).tocsr()
    groups: list[list[int]] = []
    heads: list[int] = []
    for i in range(len(keys)):
        if heads and terms[i]:
            sims = (matrix[heads] @ matrix[i].T).toarray().ravel()
            best = int(np.argmax(sims))
            if sims[best] >= threshold:
                groups[best].append(i)
                continue
        heads.append(i)
        groups.append([i])
    return groups


# -- the report -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Variant:
    question: str
    count: int


@dataclass(frozen=True)
class GapGroup:
    """Near-duplicate questions the bot could not answer (or answered with low confidence)."""

    question: str  # the most frequent wording
    count: int
    unanswered: int
    low_confidence: int
    best_score: float  # the best confidence any of them got
    last_asked: float
    users: int  # distinct (hashed) users who asked; 0 where there are no user ids (terminal)
    variants: tuple[Variant, ...]

    def to_json(self) -> dict[str, Any]:
        return {"question": self.question, "count": self.count, "unanswered": self.unanswered,
                "low_confidence": self.low_confidence, "best_score": round(self.best_score, 4),
                "last_asked": _iso(self.last_asked), "users": self.users,
                "variants": [{"question": v.question, "count": v.count} for v in self.variants]}


@dataclass(frozen=True)
class PassageFeedback:
    passage_id: str | None  # None: clicks from before passage ids were recorded
    source: str | None
    section: str | None
    not_helpful: int
    helpful: int
    example_question: str | None

    @property
    def where(self) -> str:
        if self.source:
            return f"{self.source} › {self.section}" if self.section else self.source
        return f"passage {self.passage_id}" if self.passage_id else "(passage not recorded)"

    def to_json(self) -> dict[str, Any]:
        return {"passage_id": self.passage_id, "source": self.source, "section": self.section,
                "not_helpful": self.not_helpful, "helpful": self.helpful, "example_question": self.example_question}


@dataclass(frozen=True)
class Period:
    label: str  # 2024-05-01, or 2024-W18
    questions: int  # questions about the knowledge (small talk not counted)
    answered: int

    @property
    def rate(self) -> float:
        return self.answered / self.questions if self.questions else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"period": self.label, "questions": self.questions, "answered": self.answered,
                "unanswered": self.questions - self.answered, "rate": round(self.rate, 4)}


@dataclass(frozen=True)
class Suggestion:
    """What could close one gap: the nearest passage, and an alias for the synonyms file."""

    question: str
    count: int
    source: str | None = None
    section: str | None = None
    confidence: float = 0.0
    term: str | None = None  # a word of the question no article uses
    target: str | None = None  # the word the closest passage uses for it
    note: str = ""  # why there is no alias, when there is none

    @property
    def line(self) -> str | None:
        """The line for the [terms] section of the synonyms file."""
        return f"{self.target} = {self.term}" if self.term and self.target else None

    @property
    def command(self) -> str | None:
        return f'faqbot alias add "{self.term}" "{self.target}"' if self.term and self.target else None

    def to_json(self) -> dict[str, Any]:
        return {"question": self.question, "count": self.count, "closest_source": self.source,
                "closest_section": self.section, "closest_confidence": round(self.confidence, 4),
                "term": self.term, "target": self.target, "synonyms_line": self.line, "command": self.command,
                "note": self.note or None}


@dataclass(frozen=True)
class GapReport:
    start: float | None  # None: since the first record
    end: float
    low_confidence: float  # answers below this confidence count as gaps
    questions: int = 0  # everything recorded in the period (small talk included)
    answered: int = 0
    unanswered: int = 0
    smalltalk: int = 0
    low_confidence_answers: int = 0
    gaps: tuple[GapGroup, ...] = ()
    gap_groups_total: int = 0  # before the limit
    not_helpful: tuple[PassageFeedback, ...] = ()
    periods: tuple[Period, ...] = ()
    period_unit: str = "day"
    suggestions: tuple[Suggestion, ...] | None = None
    source: str = ""  # the usage log file
    note: str = ""  # e.g. "recording is off"

    @property
    def answer_rate(self) -> float:
        asked = self.answered + self.unanswered
        return self.answered / asked if asked else 0.0

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "since": _iso(self.start) if self.start is not None else None,
            "until": _iso(self.end),
            "usage_log": self.source,
            "low_confidence_below": self.low_confidence,
            "totals": {"questions": self.questions, "answered": self.answered, "unanswered": self.unanswered,
                       "smalltalk": self.smalltalk, "low_confidence": self.low_confidence_answers,
                       "answer_rate": round(self.answer_rate, 4)},
            "gaps": [g.to_json() for g in self.gaps],
            "gap_groups_total": self.gap_groups_total,
            "not_helpful": [p.to_json() for p in self.not_helpful],
            "answer_rate": {"unit": self.period_unit, "periods": [p.to_json() for p in self.periods]},
        }
        if self.suggestions is not None:
            data["suggestions"] = [s.to_json() for s in self.suggestions]
        return data

    # -- the terminal view -------------------------------------------------------------------------
    def lines(self) -> list[str]:
        since = _day(self.start) if self.start is not None else "the first record"
        out = [f"Usage report from {since} to {_day(self.end)} (UTC) — {self.source}"]
        if self.note:
            out.append(f"  ({self.note})")
        if not self.questions:
            out.append("No questions recorded in this period.")
            return out
        out.append(f"Questions: {self.questions} ({self.answered} answered, {self.unanswered} unanswered, "
                   f"{self.smalltalk} small talk); answer rate {self.answer_rate:.0%}; "
                   f"answered below {self.low_confidence:.0%} confidence: {self.low_confidence_answers}")
        out += ["", "Unanswered and low-confidence questions, most frequent first"]
        if self.gaps:
            rows = [(str(i), str(g.count), str(g.unanswered), str(g.low_confidence), f"{g.best_score:.0%}",
                     _clip(g.question, 70) + (f"  (+{len(g.variants) - 1} similar)" if len(g.variants) > 1 else ""))
                    for i, g in enumerate(self.gaps, start=1)]
            out += table(("#", "asked", "unanswered", "low conf.", "best", "question"), rows)
            if self.gap_groups_total > len(self.gaps):
                out.append(f"  … and {self.gap_groups_total - len(self.gaps)} more (use --limit)")
        else:
            out.append("  none")
        out += ["", 'Passages with the most "Not helpful" clicks']
        if self.not_helpful:
            rows = [(str(p.not_helpful), str(p.helpful), _clip(p.where, 60),
                     _clip(p.example_question or "", 40)) for p in self.not_helpful]
            out += table(("not helpful", "helpful", "passage", "e.g. question"), rows)
        else:
            out.append("  none")
        out += ["", f"Answer rate by {self.period_unit} (UTC; small talk not counted)"]
        rows = [(p.label, str(p.questions), str(p.answered), f"{p.rate:.0%}") for p in self.periods]
        out += table((self.period_unit, "questions", "answered", "rate"), rows) if rows else ["  none"]
        if self.suggestions is not None:
            out += ["", "Suggestions for frequent unanswered questions"]
            out += suggestion_lines(self.suggestions)
        return out


def suggestion_lines(suggestions: Sequence[Suggestion]) -> list[str]:
    if not suggestions:
        return ["  none (no unanswered question was asked often enough; try --min-count 1)"]
    out: list[str] = []
    for i, s in enumerate(suggestions, start=1):
        out.append(f'{i:>3}. "{_clip(s.question, 70)}" — asked {s.count} time{"s" if s.count != 1 else ""}')
        if s.source:
            where = f"{s.source} › {s.section}" if s.section else s.source
            out.append(f"     closest passage: {where} (confidence {s.confidence:.0%})")
        else:
            out.append("     closest passage: none (no article shares a word with it)")
        if s.line:
            out.append(f"     suggested line for [terms] in synonyms.ini:  {s.line}")
            out.append(f"     to add it:  {s.command}")
        if s.note:
            out.append(f"     {s.note}")
    return out


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A plain-text table: numbers right-aligned, the last column left-aligned and unpadded."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) for c, w in zip(cells[:-1], widths, strict=False)]
        return "  " + "  ".join([*parts, cells[-1]]).rstrip()

    return [line(headers), "  " + "  ".join("-" * w for w in widths), *(line(r) for r in rows)]


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d")


# -- reading the log --------------------------------------------------------------------------------
def read_report(path: Path, *, since: float | None = None, now: float | None = None, low_confidence: float = 0.75,
                guild_id: int | None = None, vocabulary: Vocabulary | None = None, limit: int = 20,
                not_helpful_limit: int = 10) -> GapReport:
    """The report for the last ``since`` seconds (None: everything) of the usage log at ``path``.

    A missing file is an empty report (nothing was recorded yet), not an error. ``guild_id``
    restricts it to one Discord server (what that server's admins may see).
    """
    now = time.time() if now is None else now
    start = None if since is None else now - since
    empty = GapReport(start=start, end=now, low_confidence=low_confidence, source=str(path))
    if not Path(path).is_file():
        return replace(empty, note="no usage log yet: nothing has been recorded")
    with UsageLog(path, create=False) as db:
        return _build(db, empty, guild_id=guild_id, vocabulary=vocabulary, limit=limit,
                      not_helpful_limit=not_helpful_limit)


def _build(db: UsageLog, report: GapReport, *, guild_id: int | None, vocabulary: Vocabulary | None, limit: int,
           not_helpful_limit: int) -> GapReport:
    where = ["ts >= ?", "ts <= ?", "coalesce(reason, '') <> 'empty'"]
    params: list[Any] = [report.start if report.start is not None else float("-inf"), report.end]
    if guild_id is not None:
        where.append("guild_id = ?")
        params.append(guild_id)
    cond = " AND ".join(where)
    low = report.low_confidence

    (total, answered, unknown, smalltalk, low_answers, first) = db.query(
        f"SELECT count(*), coalesce(sum(kind = 'answer'), 0), coalesce(sum(kind = 'unknown'), 0), "
        f"coalesce(sum(kind = 'smalltalk'), 0), coalesce(sum(kind = 'answer' AND score < ?), 0), min(ts) "
        f"FROM questions WHERE {cond}", [low, *params])[0]

    days = db.query(
        f"SELECT date(ts, 'unixepoch') AS day, count(*) AS asked, sum(kind = 'answer') AS answered "
        f"FROM questions WHERE {cond} AND kind <> 'smalltalk' GROUP BY day ORDER BY day", params)
    span_start = report.start if report.start is not None else (first if first is not None else report.end)
    unit = "day" if report.end - span_start <= DAILY_UP_TO_DAYS * 86400 else "week"
    periods = _periods([(r["day"], r["asked"], r["answered"]) for r in days], unit)

    rows = db.query(
        f"SELECT question, kind, score, ts, user_hash FROM questions WHERE {cond} AND "
        f"((kind = 'unknown' AND coalesce(reason, '') <> 'too_long') OR (kind = 'answer' AND score < ?))",
        [*params, low])
    gaps = _gap_groups(rows, low, vocabulary)

    fb_where = ["ts >= ?", "ts <= ?"] + (["guild_id = ?"] if guild_id is not None else [])
    fb_params = params[:2] + ([guild_id] if guild_id is not None else [])
    feedback = db.query(
        "SELECT f.passage_id AS passage_id, sum(f.helpful = 0) AS not_helpful, sum(f.helpful = 1) AS helpful, "
        "(SELECT g.question FROM feedback g WHERE g.passage_id IS f.passage_id AND g.helpful = 0 "
        " ORDER BY g.ts DESC LIMIT 1) AS example, "
        "(SELECT q.source FROM questions q WHERE q.passage_id = f.passage_id ORDER BY q.ts DESC LIMIT 1) AS source, "
        "(SELECT q.section FROM questions q WHERE q.passage_id = f.passage_id ORDER BY q.ts DESC LIMIT 1) AS section "
        f"FROM feedback f WHERE {' AND '.join('f.' + w for w in fb_where)} GROUP BY f.passage_id "
        "HAVING sum(f.helpful = 0) > 0 ORDER BY not_helpful DESC, helpful ASC LIMIT ?",
        [*fb_params, not_helpful_limit])
    not_helpful = tuple(PassageFeedback(r["passage_id"], r["source"], r["section"], int(r["not_helpful"]),
                                        int(r["helpful"]), r["example"]) for r in feedback)

    return replace(report, questions=int(total), answered=int(answered), unanswered=int(unknown),
                   smalltalk=int(smalltalk), low_confidence_answers=int(low_answers), gaps=tuple(gaps[:limit]),
                   gap_groups_total=len(gaps), not_helpful=not_helpful, periods=periods, period_unit=unit)


def _periods(days: Sequence[tuple[str, int, int]], unit: str) -> tuple[Period, ...]:
    if unit == "day":
        return tuple(Period(day, int(asked), int(answered or 0)) for day, asked, answered in days)
    weeks: dict[str, list[int]] = {}
    for day, asked, answered in days:
        year, week, _ = date.fromisoformat(day).isocalendar()
        counts = weeks.setdefault(f"{year}-W{week:02d}", [0, 0])
        counts[0] += int(asked)
        counts[1] += int(answered or 0)
    return tuple(Period(label, asked, answered) for label, (asked, answered) in weeks.items())


@dataclass
class _Distinct:
    """One distinct question (after normalising), with its tallies."""

    wordings: Counter[str] = field(default_factory=Counter)
    count: int = 0
    unanswered: int = 0
    low: int = 0
    best: float = 0.0
    last: float = 0.0
    users: set[str] = field(default_factory=set)


def _gap_groups(rows: Sequence[Mapping[str, Any]], low: float, vocabulary: Vocabulary | None) -> list[GapGroup]:
    distinct: dict[str, _Distinct] = {}
    for r in rows:
        text = " ".join(str(r["question"]).split())
        d = distinct.setdefault(normalize(text).strip(" ?!.,"), _Distinct())
        d.wordings[text] += 1
        d.count += 1
        d.unanswered += r["kind"] == "unknown"
        d.low += r["kind"] == "answer" and r["score"] < low
        d.best = max(d.best, float(r["score"]))
        d.last = max(d.last, float(r["ts"]))
        if r["user_hash"]:
            d.users.add(r["user_hash"])
    keys = sorted(distinct, key=lambda k: (-distinct[k].count, -distinct[k].last))[:MAX_DISTINCT]
    groups = []
    for members in group_similar(keys, lambda k: question_terms(k, vocabulary)):
        items = [distinct[keys[i]] for i in members]
        variants = sorted(((d.wordings.most_common(1)[0][0], d.count) for d in items), key=lambda v: -v[1])
        groups.append(GapGroup(
            question=variants[0][0], count=sum(d.count for d in items), unanswered=sum(d.unanswered for d in items),
            low_confidence=sum(d.low for d in items), best_score=max(d.best for d in items),
            last_asked=max(d.last for d in items), users=len(set().union(*(d.users for d in items))),
            variants=tuple(Variant(q, n) for q, n in variants),
        ))
    groups.sort(key=lambda g: (-g.count, -g.last_asked))
    return groups


# -- suggestions ------------------------------------------------------------------------------------
def add_suggestions(report: GapReport, engine: Engine, *, min_count: int = 2, limit: int = 10) -> GapReport:
    """The report with a ``Suggestion`` for each of its gap groups asked at least ``min_count`` times."""
    suggestions = tuple(suggest(engine, g) for g in report.gaps if g.count >= min_count)[:limit]
    return replace(report, suggestions=suggestions)


def suggest(engine: Engine, group: GapGroup) -> Suggestion:
    """The closest passage to a group's question, and a synonym for its most common unknown word.

    The target of the synonym is read from the passage the rest of the question (the unknown word
    left out) is answered from: a canonical word of the vocabulary in its heading when there is
    one (it already gathers synonyms), else the heading's first content word. Meaning is not
    checked — a person should confirm that the two words mean the same before adding the line.
    """
    analyzer = engine.retriever.analyzer
    unknown: Counter[str] = Counter()
    titles: Counter[str] = Counter()
    for variant in group.variants:
        query = analyzer.query(variant.question)
        unknown.update({w: variant.count for w in query.unknown_words})
        titles.update({t: variant.count for t in query.unknown_titles})
    closest = engine.closest(group.question)
    base = Suggestion(group.question, group.count)
    if closest is not None:
        passage, confidence = closest
        base = replace(base, source=passage.source, section=passage.question or passage.section or passage.title,
                       confidence=confidence)
    if titles:
        title = titles.most_common(1)[0][0]
        return replace(base, note=f'asks about a job the articles don\'t cover ("{title}"): an article about it '
                                  "would answer this, not a synonym")
    if not unknown:
        return replace(base, note="every word of it is known: the articles probably don't say this; "
                                  "consider adding a passage that does")
    main = analyzer.query(group.question)
    if len(main.unknown_words) >= 2 and len(main.unknown_words) > main.content_words / 2:
        return replace(base, note="most of its words appear in no article: probably a question about something "
                                  "else; a synonym would not help")
    term = max(unknown, key=lambda w: (unknown[w], len(w)))
    rest = re.sub(rf"(?<![\w$]){re.escape(term)}(?![\w$])", " ", normalize(group.question))
    pointed = engine.closest(rest)
    if pointed is None or pointed[1] < engine.threshold:
        return replace(base, term=term, note=f'without "{term}" the question points at no passage; add a synonym '
                                             f'by hand: faqbot alias add "{term}" "<the articles\' word for it>"')
    target = _target_word(engine, pointed[0], rest)
    if target is None:
        return replace(base, term=term, note=f'add a synonym by hand: faqbot alias add "{term}" '
                                             f'"<the articles\' word for it>"')
    return replace(base, term=term, target=target)


_GENERIC_HEADINGS = frozenset({"frequently", "asked", "questions", "question", "faq", "faqs", "conclusion",
                               "introduction", "overview", "summary", "understanding", "role", "roles"})


def _target_word(engine: Engine, passage: Any, rest: str) -> str | None:
    """The word of a passage's heading (its FAQ question, else its section) that a synonym should
    point at: a canonical word of the vocabulary when there is one, else its first content word."""
    analyzer = engine.retriever.analyzer
    vocabulary = analyzer.vocabulary
    heading = analyzer.canonical(passage.question or passage.section or passage.title)
    # The broadest group the heading (or one of its words) belongs to: "salary" for "Salary
    # Comparison", though "salary comparison" is a group of its own, of a few phrasings.
    canonical = dict.fromkeys(c for text in [heading, *words(heading)] for _, c in vocabulary.expansions(text))
    if canonical:
        return max(canonical, key=lambda c: len(vocabulary.terms.get(c, ())))
    asked = {stem(w) for w in words(rest)}
    for word in words(heading):
        if (word.isalpha() and len(word) > 2 and word not in STOP_WORDS and word not in _GENERIC_HEADINGS
                and word not in analyzer.vocabulary.stopwords and stem(word) not in asked):
            return word
    return None
