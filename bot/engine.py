"""The answer engine every front end uses: a question in, an ``Answer`` out.

It decides between answering with the best passage, small talk, and "I don't know" (with the
closest topics as suggestions) using a calibrated confidence; it asks "did you mean" when the
best passages are equally good but about different roles, and it answers a follow-up question in
the light of the conversation's topic (``bot.followup`` reads it). It never imports discord.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from bot import smalltalk
from bot.analysis import Query
from bot.articles import OVERVIEW_WORDS, read_reference
from bot.config import Settings
from bot.followup import ASKS, FollowUp, name_compared_roles, name_partial_roles, read_turn, resolve_follow_up
from bot.index_store import load_index
from bot.ingest import Passage
from bot.retriever import Hit, TfidfRetriever
from bot.textproc import normalize
from bot.topic import Topic
from bot.vocabulary import ROLE_PREFIX

log = logging.getLogger(__name__)

Kind = Literal["answer", "smalltalk", "unknown"]

# Clause boundaries in a long message (a clause that asks something opens with ``ASKS``).
_CLAUSE = re.compile(r"(?<=[.?!;])\s+|\.\.\.+\s*|,\s+(?=" + ASKS.pattern + ")")
# A question asking for a number, a duration or a date, and what answers one: a passage without
# any ("how many vacation days do coos get" is not answered by the COO's duties).
_QUANTITY = re.compile(r"\b(?:how many|how long|what percent(?:age)?|how old|what age|average age|what year|"
                       r"when (?:was|did)|how often|how much time|(?:typical|average|usual) time to)\b|\bwhat ?%")
_NUMBER = re.compile(r"(?<![\w$])(?:\$?\d[\d,.]*%?|one|two|three|four|five|six|seven|eight|nine|ten|twelve|dozens?|"
                     r"hundreds?|thousands?|several|a few|percent|once|twice|weekly|monthly|quarterly|"
                     r"yearly|annual(?:ly)?)(?!\w)", re.IGNORECASE)
_PERCENT = re.compile(r"\bpercent(?:age)?s?\b|%")
_LIST_MARKER = re.compile(r"^\W*\d+[.)]\s", re.MULTILINE)
# A question asking which person or role does something.
_ASKS_WHO = re.compile(r"\b(?:who|whos|who's|whom|which (?:role|roles|exec|executive|position|person|one))\b")
# "give me an example" asks for help using the bot, and in a conversation for an example of what was said.
_EXAMPLE = re.compile(r"\bexamples?\b")
# What a question naming only a role asks, in words the vocabulary knows.
ROLE_ONLY_QUESTION = "what do they do"
# Asking what a role's name means ("what does vp ops stand for"), in words the vocabulary knows:
# asks what the role is, too.
MEANING_QUESTION = "what does it mean"
# "what even is a vp of operations?? never heard of it": what the role is, whatever follows the "?".
_WHAT_IS_ROLE = re.compile(r"^\W*(?:(?:so|ok|okay|hey|um|and)\W+)*(?:what|whats|what's)\s+"
                           r"(?:(?:even|exactly|actually)\s+)?(?:is\s+)?(?:(?:an?|the)\s+)?(role_\w+)\s*[?!.]+")
_MORE_ASKED = re.compile(rf"\b{ASKS.pattern}|\?")  # after "what is a coo": is more asked?
# A question naming only a role prefers, by this much, passages about that role alone; any other
# (first) question about one role, by this much ("vp of operations responsibilities": the VP's
# section before the one setting them against the COO's).
ROLE_ALONE_BONUS = 0.5
ONE_ROLE_ALONE_BONUS = 0.2
# A follow-up about the same role(s) prefers the section just shown ("so do they usually become ceo
# later?" after the passage on the COO as second-in-command) when the scores are this close.
SAME_SECTION_BONUS = 0.2
# ... and by this much when the follow-up points at it ("who does the vp report to in that table").
POINTED_SECTION_BONUS = 3.0
_POINTS_BACK = re.compile(r"\b(?:that|this|the|same|your)\s+(?:[\w-]+\s+){0,2}?(?:table|chart|grid|row|rows|column|"
                          r"columns|list|section|passage|paragraph)\b|\bin\s+(?:it|there)\b")
# A follow-up moving to another role ranks passages about only the roles it left this much lower.
LEFT_ROLE_FACTOR = 0.7
# ... and prefers, by this much, a passage about the new role in the article just shown: its
# counterpart ("and the coo's?" after the Head of Operations section of "Head of Operations vs
# COO" is that article's COO section), looking this many passages further down for it.
SAME_ARTICLE_BONUS = 0.6
CONTEXT_EXTRA_HITS = 5
# A question naming an article ("according to the head of ops article") is answered from it: other
# articles' passages count this share of their score, looking this many passages further down.
OTHER_ARTICLE_FACTOR = 0.3
ARTICLE_EXTRA_HITS = 10
# Confidence of an article's opening or conclusion given for "what's the ... article about": the
# article was named, so which passage answers is not in doubt.
OVERVIEW_CONFIDENCE = 0.9
_MIN_OVERVIEW_WORDS = 15  # an article's opening passage, not its date line
_CONCLUSION = re.compile(r"\W*(?:in\s+)?conclusion\b", re.IGNORECASE)  # a heading
_IN_CONCLUSION = re.compile(r"^\W*in\s+conclusion\b", re.IGNORECASE | re.MULTILINE)  # a line opening so
_SUMMING_UP = re.compile(r"^\W*in\s+(?:summary|short|brief)\b", re.IGNORECASE | re.MULTILINE)
# "coo duties list", "bullet points pls": a passage that lists (a list, a table, three or more
# items) ranks higher by this share than one that tells in prose.
LIST_BONUS = 0.3
_ASKS_LIST = re.compile(r"\b(?:list|lists|listed|bullets?|bullet points?|bullet form|rundown|checklist)\b")
_LIST_LINE = re.compile(r"^\s*(?:[-•*]|\d+[.)])\s", re.MULTILINE)
# A question announced as a new subject: answered on its own, whatever was said before.
_NEW_TOPIC = re.compile(r"^\W*(?:(?:ok|okay|alright|right|so|and)\W+)*(?:(?:a|on\s+a)\s+)?(?:(?:new|different|another|"
                        r"other|unrelated|separate|random)\s+(?:topic|question|subject|q)|change\s+of\s+"
                        r"(?:topic|subject)|chang(?:e|ing)\s+(?:the\s+)?(?:topic|subject)|switching\s+(?:gears|topics?)|"
                        r"on\s+another\s+note|unrelated(?:\s+but)?)\s*[-:,.;!–—]+\s*(?:but\s+)?", re.IGNORECASE)
# "why should a business care about coo vs ops director": what knowing the difference is good
# for, which comparison articles say where they speak of understanding the differences.
_WHY_MATTERS = re.compile(r"\bwhy\b.*\b(?:care|cares|matter|matters|important|importance|know|knowing|understand|"
                          r"understanding|bother|useful|usefull|helpful|relevant|worth|learn|learning)\b|"
                          r"\b(?:point|value|benefits?|importance|use|purpose)\s+of\s+(?:knowing|understanding|learning)\b")
_TELLS_APART = re.compile(r"\b(?:vs|versus|differ\w*|diff|distinctions?|distinguish\w*|split|apart|or|between)\b")
_ON_KNOWING_DIFFERENCES = re.compile(r"\b(?:understanding|knowing|clarifying|recogni[sz]ing)\b[^.]{0,60}?"
                                     r"\b(?:differences?|distinctions?|nuances?|relationship)\b", re.IGNORECASE)
# Setting two roles side by side: "cfo vs coo", "how does a ceo differ from a coo".
_COMPARES = re.compile(r"\b(?:vs|versus|differ\w*|diff|difference|compared?|comparing|comparison|overlap)\b")
# "kaizen meaning in ops?", "ebitda definition": the meaning asked for after the word.
_MEANING_AFTER = re.compile(r"^\W*(?:what\W+s\s+|whats\s+)?(?:the\s+)?(.+?)\s+(?:meaning|definition|defined)"
                            r"(?:\s+(?:in|for)\s+\w+)?\W*$")
# Asking how two roles differ (not "vs" alone: "ops mgr vs vp ops salary" asks each one's) or rank.
_DIFFERS = re.compile(r"\b(?:differ|differs|different|difference|differences|diff)\b")
_RANKS = re.compile(r"\b(?:higher|lower|above|below|senior|junior|outranks?|ranks?|ranking|superior)\b")
# Asking what something is: "what's an evp", "define ebitda", "what does erp stand for".
_DEFINE = re.compile(r"^\W*(?:what\s+is|what's|whats|what\s+are|define|meaning\s+of|what\s+does)\s+"
                     r"(?:an?\s+|the\s+)?(.*?)\s*(?:stand\s+for|mean)?\W*$")


def _lists(passage: Passage) -> bool:
    """True when a passage lists: a list or table, or three or more bulleted or numbered lines."""
    return passage.kind in ("list", "table") or len(_LIST_LINE.findall(passage.text)) >= 3


def _listing(names: Sequence[str]) -> str:
    """ "A", "A and B", "A, B and C"."""
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else (names[0] if names else "")


@functools.lru_cache(maxsize=4096)  # the same few passages are answered with over and over
def passage_id(source: str, text: str) -> str:
    """A short id for a passage that stays the same across index rebuilds while its text does,
    so the usage log can count feedback per passage (and it fits in a button's custom id)."""
    return hashlib.sha256(f"{source}\0{text}".encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Alternative:
    text: str
    source: str
    section: str | None
    score: float
    label: str = ""  # short description, for "did you mean" choices

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
    choices: tuple[Alternative, ...] = ()  # "did you mean": equally good answers about different roles
    about: tuple[str, ...] = ()  # display names of the roles the question was understood to be about
    reason: str | None = None  # why there is no answer: "empty", "too_long", "low_confidence"
    resolved: str | None = None  # the question as understood in context, when context was used
    topic: Topic | None = None  # the conversation's topic after this turn (None: unchanged)
    passage_id: str | None = None  # ``passage_id`` of the passage answered with (the first of two)

    @property
    def used_context(self) -> bool:
        return self.resolved is not None

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
    about the roles asked; whether the question is about a job or (``[uncovered]`` in the
    vocabulary) a subject the articles don't cover (asking *who* does something "with the ceo"
    asks for a covered job); the share of the question's words no article uses; whether the
    passage is about none of the roles asked about (a head of operations' salary is not in an
    article about COO salaries)."""
    unknown_share = len(query.unknown_words) / max(1, query.content_words)
    off_topic = bool(query.unknown_titles or query.uncovered) or (bool(query.roles) and not covers_roles
                                               and not _ASKS_WHO.search(query.text))
    role_miss = bool(query.roles) and hit.role_match == 0.0
    return [hit.score, hit.content_coverage, hit.role_match, float(off_topic), unknown_share, float(role_miss)]


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
        self.role_names = retriever.analyzer.vocabulary.role_names
        self._labels: dict[tuple[Passage, tuple[str, ...]], str] = {}  # see ``_label``
        self.topics = self._topics()
        # Each article's title as the analyser reads it: what an article a question names is found by.
        self._titles = {source: retriever.analyzer.canonical(title) for source, title, _ in self.sources()}
        self._on_differences = self._passages_on_differences()
        self.example = self._example()
        self._meaning = frozenset(retriever.analyzer.query(MEANING_QUESTION).subject)

    @classmethod
    def open(cls, knowledge: Path, index_dir: Path | None = None, settings: Settings | None = None,
             *, rebuild: bool = False, threshold: float | None = None) -> Engine:
        """Load (or build, when missing or stale) the index for a knowledge folder."""
        settings = settings or Settings()
        loaded = load_index(knowledge, index_dir, settings, rebuild=rebuild)
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

    def _passages_on_differences(self) -> dict[str, list[int]]:
        """Per article, the passages saying what understanding the differences does (a heading
        "Understanding the Difference" alone does not)."""
        found: dict[str, list[int]] = {}
        for i, p in enumerate(self.retriever.passages_):
            body = p.text[len(p.section):] if p.section and p.text.startswith(p.section) else p.text
            if _ON_KNOWING_DIFFERENCES.search(body):
                found.setdefault(p.source, []).append(i)
        return found

    def _topics(self) -> str:
        titles = " ".join(self.retriever.analyzer.canonical(t) for _, t, _ in self.sources())
        names = [name for token, name in self.role_names.items() if token in titles]
        if not names:
            names = [t for _, t, _ in self.sources()][:3]
        return _listing(names)

    def _example(self) -> str:
        for p in self.retriever.passages_:
            if p.question and len(p.question) < 80:
                return p.question
        return "What is this about?"

    def role_display(self, roles: Sequence[str]) -> tuple[str, ...]:
        return tuple(self.role_names.get(r, r) for r in roles)

    # -- answering -----------------------------------------------------------------------
    def confidence(self, hit: Hit, query: Query) -> float:
        x = confidence_features(hit, query, self.retriever.covers_roles(query.roles))
        return _sigmoid(self.bias + sum(w * f for w, f in zip(self.weights, x, strict=False)))

    def ask(self, question: str, topic: Topic | None = None) -> Answer:
        """Answer a question; ``topic`` (from the previous turn) lets follow-ups be understood."""
        answer = self._answer(question, topic)
        with self._lock:
            self.stats.questions += 1
            if answer.kind == "answer":
                self.stats.answered += 1
            elif answer.kind == "smalltalk":
                self.stats.smalltalk += 1
            else:
                self.stats.unknown += 1
        return answer

    def _answer(self, question: str, topic: Topic | None) -> Answer:
        fresh = _NEW_TOPIC.match(question)
        if fresh and fresh.end() < len(question):  # "ok new topic, what does an ops director do?"
            return replace(self._answer_turn(question[fresh.end():], None), question=question)
        answer = self._answer_turn(question, topic)
        if answer.topic is None or topic is None:  # with no turn before, the frame comes as it is
            return answer
        # The frame: the roles of this turn and the one before ("why hire a coo", "what about a vp
        # of operations": "them" are both); an answer comes with this turn's (``answer_query``).
        found = answer.topic
        frame = tuple(dict.fromkeys([*found.roles, *(topic.frame or topic.roles)]))[:2]
        return replace(answer, topic=Topic(found.roles, found.subject, found.source, found.section, frame))

    def _answer_turn(self, question: str, topic: Topic | None, within: frozenset[str] = frozenset()) -> Answer:
        text = normalize(question)
        if not text or not any(ch.isalnum() for ch in text):
            return Answer(question, "unknown", f'Please type a question, e.g. "{self.example}"', reason="empty")
        limit = self.settings.max_question_chars
        if len(question) > limit:
            return Answer(question, "unknown",
                          f"That question is too long ({len(question):,} characters); please keep it under "
                          f"{limit:,} characters.", reason="too_long")
        chat = smalltalk.detect(question)
        if chat is not None and not (topic is not None and chat.category == "help" and _EXAMPLE.search(text)):
            return Answer(question, "smalltalk", chat.reply(self.topics, self.example))
        query = self.retriever.analyzer.query(question)
        if query.corrections:  # "thnaks, that helped": small talk with a typo
            fixed = re.sub(r"[a-z]+", lambda m: query.corrections.get(m.group(0), m.group(0)), text)
            chat = smalltalk.detect(fixed)
            if chat is not None:
                return Answer(question, "smalltalk", chat.reply(self.topics, self.example))
        scoped = None if within else self._article_answer(question, query)
        if scoped is not None:  # "in the head of ops comparison, how is the coo described"
            return scoped
        why = self._why_difference_matters(question, query)
        if why is not None:
            return why
        compared = name_compared_roles(text, query, self.role_names, self.retriever.covered_roles,
                                       alone=topic is None)
        if compared != text:  # "coo or vp?": the VP of Operations (no context needed)
            text, query = compared, self.retriever.analyzer.query(compared)
        named = name_partial_roles(text, query, topic, self.role_names, self.retriever.covered_roles)
        renamed = named != text  # "the vp", in a conversation about the VP of Operations
        if renamed:
            text, query = named, self.retriever.analyzer.query(named)
        reading = read_turn(text, query) if topic is not None else None
        follow_up = resolve_follow_up(text, query, topic, covers_roles=self.retriever.covers_roles,
                                      role_names=self.role_names, turn=reading)
        if follow_up is None and renamed:
            follow_up = FollowUp(named)  # the role written out is what was asked
        if follow_up is not None:
            resolved = follow_up.text
            resolved_query = self.retriever.analyzer.query(resolved)
            if follow_up.about:  # "do they work with the coo?": about them
                resolved_query = replace(resolved_query, roles=list(follow_up.about))
            in_context = self.answer_query(question, resolved_query, context=topic)
            if in_context.kind == "answer":
                return replace(in_context, resolved=resolved)
            others = () if query.roles else self.retriever.subject_only_for_others(resolved_query)
            if others:
                # "and their pay?" after the head of operations: the articles give it for other
                # roles only; saying so beats answering the question alone, about anyone. The next
                # "what about a coo?" asks this of the coo.
                roles = tuple(resolved_query.roles)
                hits = self.retriever.retrieve(resolved_query, k=self.settings.suggestions + 2)
                unknown = self._unknown(question, hits, in_context.score, self.role_display(roles), others)
                return replace(unknown, resolved=resolved,
                               topic=Topic(roles, tuple(resolved_query.subject), frame=roles[:2]))
        answer: Answer | None = None
        # A question of its own that goes on from the turn before ("and the coo?" after what a head
        # of ops does, "and the coo, who do they coordinate with?"): ranked knowing the passage shown.
        context = topic if reading is not None and reading.names_roles and reading.ellipsis else None
        # "same for a vp?" after "what does a coo do": the role alone, asked what the one before was
        same_for_role = reading is not None and reading.same_for and not reading.own_subject
        asks_meaning = self._asks_meaning(query)
        what_is = _WHAT_IS_ROLE.match(query.text)
        if what_is and _MORE_ASKED.search(query.text, what_is.end()):
            what_is = None  # "what is a coo? also how much do they make": more is asked
        if self.retriever.covers_roles(query.roles) and (
                same_for_role or asks_meaning or what_is or all(t.startswith(ROLE_PREFIX) for t in query.terms)):
            # Nothing asked but the role ("what is a vp of ops", "what does a coo do"): what they
            # do; the topic stays the role alone ("is that the same as a coo?" compares them).
            asked = reading.text if same_for_role and reading is not None else text
            if (asks_meaning and not self._name_spelled_out(asked, query.roles)) or what_is:
                asked = " ".join(self.role_display(query.roles))  # then what the role is
            general = self.answer_query(question, self.retriever.analyzer.query(f"{asked} {ROLE_ONLY_QUESTION}"),
                                        context=context, about_alone=True, within=within)
            if general.kind == "answer":
                subject = () if same_for_role else tuple(query.subject)
                answer = replace(general, topic=replace(general.topic, subject=subject))
        if answer is None:
            answer = self.answer_query(question, query, context=context, within=within)
        core = self._core_question(text, query)
        if core is not None:
            focused = self.answer_query(question, self.retriever.analyzer.query(core), within=within)
            if focused.score > answer.score:
                answer = replace(focused, resolved=core)
        if answer.kind == "unknown" and topic is not None and topic.roles and not query.roles \
                and not query.unknown_words and not query.unknown_titles:
            # A short question we can't place may still be about the roles just discussed.
            resolved = " ".join([text, *self.role_display(topic.roles)])
            in_context = self.answer_query(question, self.retriever.analyzer.query(resolved), context=topic)
            if in_context.kind == "answer":
                return replace(in_context, resolved=resolved)
        if answer.kind == "unknown" and self.retriever.covers_roles(query.roles) and not query.unknown_titles:
            # Not answered, but about a role the articles cover: the next "and who implements them?"
            # is about this question, not the one before it.
            roles = tuple(query.roles)
            answer = replace(answer, topic=Topic(roles, tuple(query.subject), frame=roles[:2]))
        return answer

    def _article_answer(self, question: str, query: Query) -> Answer | None:
        """The answer to a question about an article it names, or None when it names none.

        Asking only what the article is about gets its opening passage, asking for its gist its
        conclusion; anything else is answered from that article's passages first.
        """
        titles = self._titles
        found = read_reference(query.text, titles)
        if found is None:
            return None
        rest = re.sub(rf"{ROLE_PREFIX}\w+", lambda m: self.role_names.get(m.group(0), m.group(0)), found.rest)
        titled = {w for source in found.sources for w in titles[source].split()}  # "... in small business management"
        asked = [w for w in self.retriever.analyzer.content_words(self.retriever.analyzer.canonical(rest))
                 if w not in OVERVIEW_WORDS and w not in titled]
        if asked or ROLE_PREFIX in found.rest:
            return replace(self._answer_turn(rest, None, within=found.sources), question=question)
        passages = [p for p in self.retriever.passages_ if p.source in found.sources]
        if found.summary:  # the passage opening "In conclusion, ...", else one under such a heading
            passages = ([p for p in passages if _IN_CONCLUSION.search(p.text)]
                        or [p for p in passages if _CONCLUSION.match(p.section or "")]
                        or [p for p in passages if _SUMMING_UP.search(p.text)] or passages)
        else:
            passages = [p for p in passages if len(p.text.split()) >= _MIN_OVERVIEW_WORDS][:1] or passages
        p = passages[0]
        return self.choice_answer(question, Alternative(p.text, p.source, p.section, OVERVIEW_CONFIDENCE))

    def _why_difference_matters(self, question: str, query: Query) -> Answer | None:
        """For "why does head of ops vs coo matter": the passage of the article comparing the two
        that says what understanding their differences is good for; None for other questions."""
        wanted = set(query.roles) & self.retriever.covered_roles  # "i'm a ceo, why should i care about ..."
        if len(wanted) != 2 or not _WHY_MATTERS.search(query.text) or not _TELLS_APART.search(query.text):
            return None
        candidates = [i for source, title in self._titles.items()
                      if {w for w in title.split() if w.startswith(ROLE_PREFIX)} == wanted
                      for i in self._on_differences.get(source, [])]
        if not candidates:
            return None
        ranking = self.retriever.score(query)[0]
        p = self.retriever.passages_[max(candidates, key=lambda i: ranking[i])]
        return self.choice_answer(question, Alternative(p.text, p.source, p.section, OVERVIEW_CONFIDENCE))

    def _asks_meaning(self, query: Query) -> bool:
        """True when all a question asks about its role is what the name means ("coo acronym",
        "define head of ops")."""
        meaning = self._meaning
        if not meaning or meaning.isdisjoint(query.subject):
            return False
        return all(s in meaning or not meaning.isdisjoint(self.retriever.analyzer.query(s).subject)
                   for s in query.subject)

    def _name_spelled_out(self, text: str, roles: list[str]) -> bool:
        """True when the best passage for what a role's name means is about that role (the
        articles spell it out: "Vice President of Operations (VP Operations) is ...")."""
        hits = self.retriever.retrieve(self.retriever.analyzer.query(f"{text} {ROLE_ONLY_QUESTION}"), k=1)
        return bool(hits) and set(roles) <= set(hits[0].focus)

    def _core_question(self, text: str, query: Query) -> str | None:
        """For a long message, its question without the story before it, plus the roles it named.

        People tell their situation first and ask last ("i own a small bakery chain... how much
        does picking the right leadership roles even matter for a small biz"); the story's words
        only dilute the match.
        """
        if len(text.split()) < 14:
            return None
        clauses = [c.strip() for c in _CLAUSE.split(text) if c.strip()]
        start = next((i for i in range(len(clauses) - 1, -1, -1) if ASKS.match(clauses[i])), None)
        if not start:  # None (no question found) or 0 (the question is the whole message)
            return None
        core = " ".join(clauses[start:])
        roles = [self.role_names.get(r, r) for r in query.roles
                 if r not in self.retriever.analyzer.roles_in(self.retriever.analyzer.canonical(core))]
        return " ".join([core, *roles]) if len(core.split()) >= 3 else None

    def answer_query(self, question: str, query: Query, context: Topic | None = None,
                     about_alone: bool = False, within: frozenset[str] = frozenset()) -> Answer:
        """Answer from an analysed query (possibly rewritten with the conversation's topic).

        With ``context`` (the topic of a follow-up's conversation) the ranking takes the passage
        last shown into account (``_in_context_order``); with ``about_alone`` (a question naming
        only a role) passages about that role alone rank higher (``ROLE_ALONE_BONUS``); asking for a
        list, passages that list do (``LIST_BONUS``); ``within`` (the articles a question names),
        the passages of other articles count ``OTHER_ARTICLE_FACTOR`` of their score.
        """
        extra = CONTEXT_EXTRA_HITS if context is not None else 0
        if within:
            extra += ARTICLE_EXTRA_HITS
        hits = self.retriever.retrieve(query, k=max(self.settings.top_k, self.settings.suggestions) + 2 + extra)
        about = self.role_display(query.roles)
        topic = Topic(tuple(query.roles), tuple(query.subject))
        if not hits or hits[0].score <= 0:
            return self._unknown(question, hits, 0.0, about)
        ranked = self._in_context_order(hits, query, context)
        if within:
            ranked = sorted(((h, score * (1.0 if h.passage.source in within else OTHER_ARTICLE_FACTOR))
                             for h, score in ranked), key=lambda pair: -pair[1])
        one_role = len(query.roles) == 1 and context is None
        bonus = ROLE_ALONE_BONUS if about_alone else ONE_ROLE_ALONE_BONUS if one_role else 0.0
        if bonus:  # "what's a coo": a passage about the coo alone, not one comparing it
            alone = set(query.roles)
            ranked = sorted(((h, score * (1.0 + bonus * (set(h.focus) == alone))) for h, score in ranked),
                            key=lambda pair: -pair[1])
        if _ASKS_LIST.search(query.text):
            ranked = sorted(((h, score * (1.0 + LIST_BONUS * _lists(h.passage))) for h, score in ranked),
                            key=lambda pair: -pair[1])
        best = ranked[0][0]
        if self._defines_unnamed(query) or self._compares_uncovered(query) or self._compares_unpaired(query):
            conf = min(self.confidence(best, query), self.threshold / 2)
            return self._unknown(question, [h for h, _ in ranked], conf, about)
        conf = self.confidence(best, query)  # from the passage's own features, not the bonus
        # The calibrated confidence is for the best passage; the others get it scaled by their
        # score, so they never outrank the passage they were ranked below.
        scored = [(hit, conf * score / ranked[0][1]) for hit, score in ranked]
        hits = [hit for hit, _ in ranked]
        if not self._may_give_quantity(query.text, best.passage.text, query.unknown_words):
            return self._unknown(question, hits, min(conf, self.threshold / 2), about)
        if best.content_coverage == 0.0:
            others = self.retriever.subject_only_for_others(query, said_once=True)
            if others:  # the articles cover what was asked, but for other roles only
                return self._unknown(question, hits, min(conf, self.threshold / 2), about, others)
        if conf < self.threshold:
            return self._unknown(question, hits, conf, about)
        alternatives = tuple(self._alternative(h, c) for h, c in scored[1:self.settings.top_k + 1])
        p = best.passage
        text = p.text
        reply = self._format(p.text, p.title, p.section, p.source, conf)
        second = self._second_part(query, scored)
        if second is not None:
            h2, c2 = second
            text = f"{p.text}\n\n{h2.passage.text}"
            p2 = h2.passage
            reply = f"{reply}\n\n{self._format(p2.text, p2.title, p2.section, p2.source, c2)}"
        choices = () if second is not None or query.roles else self._choices(scored)
        if choices:
            listing = "\n".join(f"  {i}. {c.label}" for i, c in enumerate(choices, start=1))
            reply = (f"That depends on the role. Did you mean:\n{listing}\n(Type a number to see that one.) "
                     f"The closest match:\n\n{reply}")
        if not topic.roles:
            topic = Topic(tuple(r for r in best.focus), topic.subject)
        topic = Topic(topic.roles, topic.subject, p.source, p.section, frame=topic.roles[:2])
        return Answer(
            question, "answer", reply, score=conf, text=text, source=p.source, title=p.title, section=p.section,
            alternatives=alternatives, choices=choices, about=about, topic=topic,
            passage_id=passage_id(p.source, p.text),
        )

    def _in_context_order(self, hits: list[Hit], query: Query,
                          context: Topic | None) -> list[tuple[Hit, float]]:
        """(hit, ranking score), best first: the retriever's order, adjusted for a follow-up.

        A follow-up that stays with the roles of the passage last shown prefers that section
        (``SAME_SECTION_BONUS``) when the scores are close. One that moves to another role ("and
        the coo?" after a VP of Operations passage) wants that role's passage, so passages about
        only the roles left behind count ``LEFT_ROLE_FACTOR`` of their score, and one about the new
        role in the article just shown gains ``SAME_ARTICLE_BONUS``.
        """
        if context is None:
            return [(h, h.score) for h in hits]
        new_roles = {r for r in query.roles if r not in context.roles and self.retriever.covers_roles([r])}

        def shown_before(h: Hit) -> bool:
            return h.passage.source == context.source and h.passage.section == context.section

        if new_roles:
            # ... and, asking nothing new ("and coos?" after the operations managers' education),
            # prefers the section just shown when it is also about the new role.
            left = set(context.roles)
            same_question = set(query.subject) <= set(context.subject)
            scored = [(h, h.score * (LEFT_ROLE_FACTOR if h.focus and set(h.focus) <= left else
                                     1.0 + SAME_SECTION_BONUS * (same_question and shown_before(h)
                                                                 and h.content_coverage > 0
                                                                 and not new_roles.isdisjoint(h.focus))
                                     + SAME_ARTICLE_BONUS * (h.passage.source == context.source
                                                             and not new_roles.isdisjoint(h.focus))))
                      for h in hits]
        elif context.source is not None:
            # ... when it holds something of what is asked now: "which of them reports to the ceo?"
            # after a salary table is a new subject, not more of that table.
            bonus = POINTED_SECTION_BONUS if _POINTS_BACK.search(query.text) else SAME_SECTION_BONUS
            scored = [(h, h.score * (1.0 + bonus * (shown_before(h) and h.content_coverage > 0))) for h in hits]
        else:
            return [(h, h.score) for h in hits]
        return sorted(scored, key=lambda pair: -pair[1])  # stable: ties keep the retriever's order

    def _defines_unnamed(self, query: Query) -> bool:
        """True when the question asks what something is ("what is ebitda", "what's an evp") and
        the articles use none of its words: a definition they never give, whatever a synonym
        relates it to (EBITDA to profitability)."""
        asked = _DEFINE.match(query.text) or _MEANING_AFTER.match(query.text)
        if asked is None:
            return False
        analyzer = self.retriever.analyzer
        named = analyzer.content_words(asked.group(1))
        return 0 < len(named) <= 3 and not any(map(analyzer.uses, named))

    def _compares_uncovered(self, query: Query) -> bool:
        """True when the question sets one role the articles are about beside one they only mention
        ("cfo vs coo", "coo vs ceo - whats the difference"): they describe one side only."""
        if not _COMPARES.search(query.text):
            return False
        covered = self.retriever.covered_roles
        return sum(r in covered for r in query.roles) == 1 and any(r not in covered for r in query.roles)

    def _compares_unpaired(self, query: Query) -> bool:
        """True when the question asks how two roles differ or rank ("is ops director above vp ops",
        "difference between an ops manager and a vp of ops") and no passage is about both: each
        article sets one role beside the COO, and which passage would answer is a guess."""
        roles = [r for r in dict.fromkeys(query.roles) if r in self.retriever.covered_roles]
        if len(roles) != 2 or not (_DIFFERS.search(query.text) or _RANKS.search(query.text)):
            return False
        return not self.retriever.about_together(roles)

    @staticmethod
    def _may_give_quantity(question: str, passage: str, unknown: Sequence[str] = ()) -> bool:
        """False when the question asks for a number, duration, date or percentage and the passage holds none,
        or counts something no article mentions ("how many vacation days"); "how many departments
        ..." is also answered by a passage naming the departments."""
        if _PERCENT.search(question) and not _PERCENT.search(passage):
            return False  # "typical bonus percentage for a vp ops": no salary figure gives one
        asked = _QUANTITY.search(question)
        if asked is None:
            return True
        counted = re.match(r"\s+([a-z]+)", question[asked.end():]) if asked.group(0) == "how many" else None
        if counted and counted.group(1) in unknown:
            return False
        if _NUMBER.search(_LIST_MARKER.sub("", passage)):
            return True
        return bool(counted) and re.search(rf"\b{counted.group(1)}\b", passage, re.IGNORECASE) is not None

    def choice_answer(self, question: str, choice: Alternative, offered: Topic | None = None) -> Answer:
        """The answer for a "did you mean" option the user picked.

        ``offered`` is the topic of the turn that offered the choices: the pick settles which
        role(s) it was about ("salary?", "2": the VP of Operations' salary), so the next follow-up
        goes on from the chosen passage's roles and the question's subject.
        """
        found = next(((i, p) for i, p in enumerate(self.retriever.passages_)
                      if p.source == choice.source and p.text == choice.text), None)
        title = found[1].title if found else choice.source
        reply = self._format(choice.text, title, choice.section, choice.source, choice.score)
        roles = self.retriever.focus(found[0]) if found else ()
        topic = Topic(roles, offered.subject if offered else (), choice.source, choice.section,
                      frame=roles or (offered.frame if offered else ()))
        return Answer(question, "answer", reply, score=choice.score, text=choice.text, source=choice.source,
                      title=title, section=choice.section, about=self.role_display(roles), topic=topic,
                      passage_id=passage_id(choice.source, choice.text))

    def closest(self, question: str) -> tuple[Passage, float] | None:
        """The best passage for ``question`` and its confidence, even when too low to answer with
        (for the knowledge-gap report); None when no passage shares a word with it."""
        query = self.retriever.analyzer.query(question)
        hits = self.retriever.retrieve(query, k=1)
        if not hits or hits[0].score <= 0:
            return None
        return hits[0].passage, self.confidence(hits[0], query)

    def _alternative(self, hit: Hit, conf: float) -> Alternative:
        p = hit.passage
        return Alternative(p.text, p.source, p.section, conf, self._label(p, hit.focus))

    def _label(self, p: Passage, focus: tuple[str, ...]) -> str:
        """A passage's "did you mean" label (remembered: every answer lists a few alternatives)."""
        label = self._labels.get((p, focus))
        if label is None:
            where = p.question or (p.section if p.section and p.section != p.title else p.title)
            roles = ", ".join(self.role_display(focus))
            label = self._labels[(p, focus)] = f"{roles}: {where}" if roles else where
        return label

    def _second_part(self, query: Query, scored: list[tuple[Hit, float]]) -> tuple[Hit, float] | None:
        """For "salary of vp ops and coo": a second passage about the role(s) the best one lacks."""
        best = scored[0][0]
        if len(query.roles) < 2 or best.role_match >= 1.0:
            return None
        missing = set(query.roles) - set(best.focus)
        for hit, conf in scored[1:4]:
            fits = len(best.passage.text) + 2 + len(hit.passage.text) <= self.settings.max_passage_chars
            if conf >= self.threshold and missing & set(hit.focus) and hit.passage != best.passage and fits:
                return hit, conf
        return None

    def _choices(self, scored: list[tuple[Hit, float]]) -> tuple[Alternative, ...]:
        """Equally good answers about different roles: worth asking which one was meant."""
        best, conf = scored[0]
        if not best.focus:
            return ()
        picked = [(best, conf)]
        for hit, c in scored[1:]:
            if c < self.threshold or c < conf * (1.0 - self.settings.clarify_margin):
                break
            if hit.focus and all(set(hit.focus) != set(h.focus) for h, _ in picked):
                picked.append((hit, c))
        return tuple(self._alternative(h, c) for h, c in picked) if len(picked) > 1 else ()

    def _unknown(self, question: str, hits: Sequence[Hit], conf: float, about: tuple[str, ...],
                 only_for: tuple[str, ...] = ()) -> Answer:
        suggestions = self._suggestions(hits) if hits and hits[0].score > 0 else ()
        reply = "Sorry, I don't know the answer to that."
        if only_for and about:
            reply = (f"Sorry, the articles don't say that for the {' or '.join(about)}; they do for the "
                     f"{_listing(self.role_display(only_for))}.")
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
