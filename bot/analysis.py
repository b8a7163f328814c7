"""Turning passages and questions into terms: the bridge between raw text and the TF-IDF index.

Both sides go through the same steps (normalise, rewrite role names, tokenise, stem); questions
also get spelling correction against the indexed words and synonym expansion from the
knowledge owner's vocabulary file.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np
from rapidfuzz.distance import DamerauLevenshtein

from bot.textproc import (
    STOP_WORDS,
    clause_starts,
    content_terms,
    english_count_at_least,
    is_content_word,
    needs_stemmer,
    normalize,
    possible_stems,
    stem,
    words,
    words_as_stems,
)
from bot.vocabulary import ROLE_PREFIX, Vocabulary

_WORD = re.compile(r"[a-z]+")
# Words that start a job title when followed by "of ..." ("head of marketing"); known roles are
# already rewritten to role terms by then, so what is left is a title the articles don't cover.
_OF_TITLES = {"vp", "vps", "head", "heads", "director", "directors", "president", "svp", "evp", "chief"}
# A question asking to choose between two roles without saying so ("should i aim for vp ops or coo").
# "what does a coo do ...", "what do ops managers actually do ...": the role's name between the words
_WHAT_DOES_DO = re.compile(r"\bwhat\s+(?:does|do)\s+(?:(?:an?|the|your|our|their)\s+)?role_\w+(?:'s)?\s+"
                           r"(?:(?:actually|really|even|usually|typically|normally)\s+)?do\b")
# "what does a coo make (compared to ...)": what they are paid, not what they make happen
_WHAT_DOES_MAKE = re.compile(
    r"\bwhat\s+(?:does|do|did|would|will|could|can)\s+(?:(?:an?|the|your|our|their)\s+)?role_\w+(?:'s)?\s+"
    r"(?:(?:actually|really|usually|typically|normally|generally|roughly)\s+)?(?:make|earn|bring in|take home)"
    r"(?=\s*$|\s*[?!.,]|\s+(?:compared|than|vs|versus|in|at|per|a year|a month|an hour|annually|yearly|on average|"
    r"typically|usually|nowadays|these days|now|roughly|approximately|or|and|with|for)\b)")
_SENTENCE_END = re.compile(r"(?<=[.!])\s+")


def _setting_words(text: str) -> set[str]:
    """Words only in the statements before a question ("we're a 300-person metal fab shop. who
    would a coo answer to?"): the asker's setting, which the articles need not know."""
    if "?" not in text or not re.search(r"[.!]\s", text):
        return set()
    parts = _SENTENCE_END.split(text)
    told = [p for p in parts if "?" not in p]
    asked = [p for p in parts if "?" in p]
    if not told or not asked or "?" in parts[0]:
        return set()
    return set(words(" ".join(told))) - set(words(" ".join(asked)))


_EITHER = r"\brole_\w+\W+or\W+(?:(?:an?|the)\W+)?role_\w+"
_CHOICE = re.compile(rf"\b(?:should|would|could|hire|bring\s+in|pick|choose)\b.*{_EITHER}|"
                     rf"{_EITHER}\W+(?:\w+\W+){{0,2}}?which\b")  # "vp of ops or coo, which one do i hire"
# "can our vp ops also be the coo", "can the vp just be the coo as well": one person in both roles
# (not "can a vp ops become a coo", a career step).
_BE_ROLE = r"(?:be|act as|serve as)\s+(?:(?:an?|the)\s+)?role_\w+"
_ALSO_BE = re.compile(rf"\brole_\w+\s+(?:\w+\s+){{0,3}}?(?:also|just|simply)\s+{_BE_ROLE}"
                      rf"|\brole_\w+\s+(?:\w+\s+){{0,3}}?{_BE_ROLE}\s+"
                      r"(?:as well|too|at the same time|simultaneously)\b")


# "i've been a", "moving from a", "working as an" ... before a job title: the asker's own job.
_ASKER_WAS = {"been", "from", "as", "im", "i'm", "am", "was", "currently", "formerly", "former", "ex"}


def _asker_was(tokens: list[str], start: int) -> bool:
    """Whether the job title starting at ``tokens[start]`` is introduced as the asker's own."""
    article = tokens[start - 1] if start >= 1 else ""
    lead = tokens[start - 2] if start >= 2 else ""
    return (article in ("a", "an") and lead in _ASKER_WAS) or article in ("former", "ex", "currently")


def with_bigrams(terms: list[str]) -> list[str]:
    """Unigrams plus adjacent pairs, so "supply chain" weighs more than "supply" and "chain"."""
    return terms + [f"{a} {b}" for a, b in pairwise(terms)]


class SpellingCorrector:
    """Fixes typos by looking the word up among the words of the indexed texts.

    Candidates are the known words within a small Damerau-Levenshtein distance that keep the
    word's first letter (typos rarely hit it, and "want" is not "cant"): for words of up to eight
    letters the words one edit away, looked up; for longer ones the few within two edits, measured
    with ``edit_distance``. The closest wins, ties going to the word the texts use
    most, then the first in alphabetical order.
    """

    def __init__(self, counts: dict[str, int], min_length: int = 5) -> None:
        self.counts = {w: int(c) for w, c in counts.items() if w.isalpha()}
        self.known = sorted(self.counts)
        self.min_length = min_length
        # (first letter, length) -> those known words, and their letter counts
        self._by_start: dict[tuple[str, int], list[str]] | None = None
        self._letter_counts: dict[tuple[str, int], np.ndarray] = {}
        self._letters: str | None = None  # the letters the known words are made of
        self._lock = threading.Lock()
        self._cache: dict[str, str | None] = {}

    def __contains__(self, word: str) -> bool:
        return word in self.counts

    def correct(self, word: str) -> str | None:
        """The known word meant by ``word``, or None when nothing is close enough."""
        if word in self.counts or len(word) < self.min_length or not self.known:
            return None
        if word not in self._cache:
            if len(self._cache) > 10_000:
                self._cache.clear()
            # Most unknown words (names, off-topic words) have no known word near them at all.
            near = self._near(word)
            self._cache[word] = self._closest(word, near) if near else None
        return self._cache[word]

    @staticmethod
    def _limit(word: str) -> int:
        """The largest edit distance accepted for a word of this length."""
        return 1 if len(word) <= 8 else 2

    def _near(self, word: str) -> set[str]:
        """The known words that may pass ``_closest``'s tests (same first letter and edit distance
        within the limit): exactly those for a short word, a few more for a long one."""
        limit = self._limit(word)
        with self._lock:
            if self._letters is None:
                self._letters = "".join(sorted(set("".join(self.known))))
        if limit == 1:  # the few hundred words one edit away, first letter kept: looked up
            return {variant for variant in _one_edit(word, self._letters) if variant in self.counts}
        near = set()
        mine = _letter_counts([word])[0]
        for length in range(len(word) - limit, len(word) + limit + 1):
            found, counts = self._same_start(word[0], length)
            # An edit changes the letter counts by two at most: a cheap first cut over thousands.
            close = np.flatnonzero(np.abs(counts - mine).sum(axis=1) <= 2 * limit)
            near.update(found[i] for i in close.tolist() if _may_be_within(word, found[i], limit))
        return near

    def _same_start(self, letter: str, length: int) -> tuple[list[str], np.ndarray]:
        """The known words of this first letter and length, and their letter counts (made when
        first needed, group by group)."""
        with self._lock:
            if self._by_start is None:
                self._by_start = {}
                for known in self.known:
                    self._by_start.setdefault((known[0], len(known)), []).append(known)
            found = self._by_start.get((letter, length), [])
            counts = self._letter_counts.get((letter, length))
            if counts is None:
                counts = self._letter_counts[(letter, length)] = _letter_counts(found)
            return found, counts

    def _closest(self, word: str, near: set[str]) -> str | None:
        """The best of the candidates ``_near`` found: closest, then most used, then alphabetical."""
        limit = self._limit(word)
        if limit == 1:  # every word ``_near`` finds is exactly one edit away
            scored = [(1, -self.counts[c], c) for c in near]
        else:
            scored = [(d, -self.counts[c], c) for c in near if (d := edit_distance(word, c)) <= limit]
        return min(scored)[2] if scored else None


# A word this common in English is meant as typed ("contract", "fixes", "shoes" are not typos of
# "contrast", "fires", "shots"), unless it is rare and one step from a word of the vocabulary
# file ("manger" -> "manager", "directer" -> "director").
ENGLISH_WORD_MIN_COUNT = 100
RARE_ENGLISH_WORD_COUNT = 1000
ENGLISH_COUNT_STEPS = (RARE_ENGLISH_WORD_COUNT, ENGLISH_WORD_MIN_COUNT)  # what an index records of each word


def _one_edit(word: str, letters: str) -> Iterator[str]:
    """Every word made of ``letters`` one deletion, swap of neighbours, substitution or insertion
    away from ``word`` that keeps its first letter."""
    for i in range(1, len(word) + 1):
        head, tail = word[:i], word[i:]
        if tail:
            yield head + tail[1:]
            if len(tail) > 1:
                yield head + tail[1] + tail[0] + tail[2:]
            for c in letters:
                yield head + c + tail[1:]
        for c in letters:
            yield head + c + tail


def edit_distance(a: str, b: str) -> int:
    """The Damerau-Levenshtein distance of two words (insertions, deletions, substitutions and
    transpositions of neighbours, even with letters inserted between them), as NLTK's
    ``edit_distance(a, b, transpositions=True)`` counts (checked equal in the tests). RapidFuzz
    computes it in C and imports in milliseconds; ``nltk.metrics`` costs a second (NLTK's package
    ``__init__``)."""
    return DamerauLevenshtein.distance(a, b)


def _letter_counts(words: list[str]) -> np.ndarray:
    """How often each of a-z (and, together, any other letter) occurs in each word."""
    codes = np.frombuffer("".join(words).encode("utf-32-le"), dtype=np.uint32).astype(np.int64) - ord("a")
    codes[(codes < 0) | (codes > 25)] = 26
    rows = np.repeat(np.arange(len(words)), [len(w) for w in words])
    counts = np.zeros((len(words), 27), dtype=np.int16)
    np.add.at(counts, (rows, codes), 1)
    return counts


def _may_be_within(a: str, b: str, limit: int) -> bool:
    """False when the Damerau-Levenshtein distance of two words (insertions, deletions,
    substitutions and transpositions, as NLTK's ``edit_distance(transpositions=True)`` counts) is
    surely over ``limit``: every operation costs each word at most one letter of what the two have
    in common, so within ``limit`` they share a subsequence of all but ``limit`` letters of each."""
    return abs(len(a) - len(b)) <= limit and _common_subsequence(a, b) >= max(len(a), len(b)) - limit


def _common_subsequence(a: str, b: str) -> int:
    """Length of the longest common subsequence of two words."""
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


class _TermsView:
    """The single terms (or the word pairs) of a vocabulary, as a read-only set."""

    def __init__(self, vocabulary: Mapping[str, int], pairs: bool) -> None:
        self._vocabulary = vocabulary
        self._pairs = pairs

    def __contains__(self, term: object) -> bool:
        return isinstance(term, str) and term in self._vocabulary and (" " in term) == self._pairs

    def __iter__(self) -> Iterator[str]:
        return (t for t in self._vocabulary if (" " in t) == self._pairs)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def isdisjoint(self, terms: Iterable[str]) -> bool:
        return self._vocabulary.keys().isdisjoint(t for t in terms if (" " in t) == self._pairs)


@dataclass
class Query:
    """What faqbot understood from a question."""

    text: str  # normalised, corrected, role names rewritten
    # Stemmed terms incl. synonym expansions (what is vectorised); unknown words whose stem could
    # match nothing stay as they are (``Analyzer._unstemmed_words``).
    terms: list[str]
    roles: list[str]  # role terms asked about, in order of mention
    unknown_titles: list[str] = field(default_factory=list)  # job titles the knowledge doesn't cover
    uncovered: list[str] = field(default_factory=list)  # subjects it names that the articles don't answer
    unknown_words: list[str] = field(default_factory=list)  # content words no passage uses
    corrections: dict[str, str] = field(default_factory=dict)
    subject: list[str] = field(default_factory=list)  # the question's own content words, roles aside
    asked: int = 0  # distinct content words the question itself holds (roles included, synonyms' meanings not)

    @property
    def content_words(self) -> int:
        """How many content words the question has: its own, not what its synonyms added (for
        "git rebase vs merge", two unknown words of three, however many terms "vs" expands to)."""
        return max(self.asked, len(self.unknown_words)) or len({t for t in self.terms if " " not in t})


# A role's name followed by its abbreviation, both rewritten to the role's term.
_SPELLED_OUT = re.compile(rf"\b({ROLE_PREFIX}\w+)\s*\(\s*\1\s*\)\s*(?:is|are)\b")
# What a passage spelling out a role's name counts as saying, in words the vocabulary knows.
SPELLED_OUT_MEANING = "stands for"


class Analyzer:
    """Text -> terms, for passages (``passage_terms``) and questions (``query``)."""

    def __init__(self, vocabulary: Vocabulary, bigrams: bool = True) -> None:
        self.vocabulary = vocabulary
        self.bigrams = bigrams
        self.speller: SpellingCorrector | None = None
        self.indexed_terms: set[str] | _TermsView = set()  # stems used by the passages
        self.indexed_pairs: set[str] | _TermsView = set()  # adjacent stem pairs used by the passages
        self._vocabulary_words = vocabulary.alias_words()
        self._stop_words = STOP_WORDS | vocabulary.stopwords  # a question's words left out
        self._title_words = _OF_TITLES | vocabulary.titles  # see ``_unknown_titles``
        # "supply chain manager" is not known from "supply chain management" (both stem to
        # "manag"): the qualifiers the texts put before a title word itself, as stem pairs.
        self.title_pairs: set[str] | None = None
        self._single_titles = frozenset(t for t in vocabulary.titles if " " not in t)
        self._meaning_stems: set[str] | None = None  # see ``_unstemmed_words``
        self._free: dict[str, frozenset[str] | None] = {}  # see ``_free_stems``
        self._spelled_out = " ".join(self._meanings_of(SPELLED_OUT_MEANING))

    # -- passages ------------------------------------------------------------------------
    def canonical(self, text: str) -> str:
        return self.vocabulary.canonicalize(normalize(text))

    def terms(self, doc: str | Query) -> list[str]:
        """The terms the index counts: of a passage's text, or of an analysed question."""
        if isinstance(doc, Query):
            return doc.terms
        return self.analyse(doc)[1]

    def analyse(self, text: str, normalized: bool = False) -> tuple[str, list[str]]:
        """(canonical text, terms) of a passage text (already ``normalize``d when ``normalized``):
        one analysis for the callers needing both."""
        canonical, unigrams = self.analyse_words(text, normalized)
        return canonical, self.with_pairs(unigrams)

    def analyse_words(self, text: str, normalized: bool = False) -> tuple[str, list[str]]:
        """(canonical text, single-word terms): ``analyse`` before word pairs are added."""
        canonical = self.vocabulary.canonicalize(text if normalized else normalize(text))
        if not self._spelled_out or "(" not in canonical:
            return canonical, content_terms(canonical)
        # "Vice President of Operations (VP Operations) is" spells out what "vp ops" stands for:
        # said where it is, so a passage's terms stay its sentences' terms in order.
        said = _SPELLED_OUT.sub(lambda match: f"{match.group(0)} {self._spelled_out}", canonical)
        return canonical, content_terms(said)

    def with_pairs(self, unigrams: list[str]) -> list[str]:
        """The terms counted for these single-word terms: with adjacent pairs, when on."""
        return with_bigrams(unigrams) if self.bigrams else unigrams

    def title_pairs_in(self, tokens: Sequence[str]) -> set[str]:
        """The (qualifier, title word) stem pairs of a text's ``words``: "chain manag" for "supply
        chain managers", not for "supply chain management"."""
        present = self._single_titles.intersection(tokens)  # most texts hold none: no loop then
        if not present:
            return set()
        return {f"{stem(tokens[i - 1])} {stem(word)}" for i, word in enumerate(tokens) if i and word in present}

    def learn(self, texts: Iterable[str]) -> None:
        """Remember the words of the indexed texts: the spelling corrector's dictionary."""
        for _ in self.learn_terms(texts):
            pass

    def learn_terms(self, texts: Iterable[str], normalized: bool = False) -> Iterator[list[str]]:
        """``learn``, yielding each text's ``terms`` on the way: building an index analyses every
        text once for both. ``normalized``: the texts went through ``normalize`` already. The
        corrector is ready when the iterator is exhausted."""
        raw_counts: Counter[str] = Counter()
        title_pairs: set[str] = set()
        if not isinstance(self.indexed_terms, set) or not isinstance(self.indexed_pairs, set):
            self.indexed_terms, self.indexed_pairs = set(), set()  # views of a previous index's vocabulary
        for text in texts:
            norm = text if normalized else normalize(text)
            tokens = words(norm)
            raw_counts.update(tokens)
            title_pairs |= self.title_pairs_in(tokens)
            terms = content_terms(self.vocabulary.canonicalize(norm))
            both = with_bigrams(terms)
            self.indexed_terms.update(terms)
            self.indexed_pairs.update(both[len(terms):])
            yield both if self.bigrams else terms
        self.finish_learning(raw_counts, title_pairs=title_pairs)

    def finish_learning(self, raw_counts: Counter[str], indexed: tuple[set[str], set[str]] | None = None,
                        *more: tuple[set[str], set[str]], title_pairs: Iterable[str] = ()) -> None:
        """Make the spelling corrector from the word counts of the indexed texts (and take the
        indexed terms and pairs found, when given, and the texts' ``title_pairs_in``)."""
        self.title_pairs = set(title_pairs)
        # Raw words (role names included: "officr" is a typo of "officer") and their stems, which
        # are often words themselves ("appointing" -> "appoint"): each stem counts as often as its
        # words (stemmed once per distinct word rather than once per occurrence).
        counts = Counter(raw_counts)
        for word, n in raw_counts.items():
            counts[stem(word)] += n
        # Chat filler is a word too: "actualy" is "actually", not the job title "actuary".
        filler = {w for phrase in self.vocabulary.stopwords for w in words(phrase)}
        for word in self.vocabulary.alias_words() | filler | STOP_WORDS:
            counts[word] += 1
        self.speller = SpellingCorrector(counts)
        self._free.clear()  # the indexed terms change
        if indexed is not None:
            self.indexed_terms = set(indexed[0]).union(*(m[0] for m in more))
            self.indexed_pairs = set(indexed[1]).union(*(m[1] for m in more))

    def use_vocabulary(self, vocabulary: Mapping[str, int]) -> None:
        """Look indexed terms up in the index's vocabulary instead of keeping copies of them.

        With word pairs on, the vocabulary's terms are exactly the indexed terms and pairs (both
        come from the same documents); at 100,000 passages the copies would be millions of strings.
        """
        self._free.clear()
        if self.bigrams:
            self.indexed_terms = _TermsView(vocabulary, pairs=False)
            self.indexed_pairs = _TermsView(vocabulary, pairs=True)

    def to_state(self, vocabulary_holds_terms: bool = False) -> dict:
        """JSON-able state; with ``vocabulary_holds_terms`` the indexed terms are left to the
        vocabulary saved alongside (see ``use_vocabulary``)."""
        state: dict[str, Any] = {"known_words": self.speller.counts if self.speller else {},
                                 "title_pairs": sorted(self.title_pairs or ())}
        if not (vocabulary_holds_terms and self.bigrams):
            state["indexed_terms"] = sorted(self.indexed_terms)
            state["indexed_pairs"] = sorted(self.indexed_pairs)
        return state

    def load_state(self, state: dict, vocabulary: Mapping[str, int] | None = None) -> None:
        self.speller = SpellingCorrector({str(w): int(c) for w, c in dict(state["known_words"]).items()})
        self.title_pairs = {str(t) for t in state["title_pairs"]}
        self._free.clear()
        if "indexed_terms" in state or vocabulary is None or not self.bigrams:
            self.indexed_terms = {str(t) for t in state["indexed_terms"]}
            self.indexed_pairs = {str(t) for t in state["indexed_pairs"]}
        else:
            self.use_vocabulary(vocabulary)

    # -- questions -----------------------------------------------------------------------
    def roles_in(self, canonical_text: str, tokens: list[str] | None = None) -> list[str]:
        """The role terms of canonical text, in order of mention (``tokens``: its words, when known)."""
        if ROLE_PREFIX not in canonical_text:  # most sentences name no role: skip tokenising them
            return []
        return list(dict.fromkeys(w for w in (tokens or words(canonical_text)) if w.startswith(ROLE_PREFIX)))

    def query(self, question: str) -> Query:
        unstemmed = self._unstemmed_words(question)
        if not unstemmed:  # most questions (entering the context costs more than a tenth of this)
            return self._query(question)
        with words_as_stems(unstemmed):
            return self._query(question)

    def _correction(self, word: str) -> str | None:
        """The word a question's ``word`` is a typo of, or None when it is meant as typed."""
        speller = self.speller
        if speller is None or len(word) < speller.min_length or word in speller.counts:
            return None
        if word in self.vocabulary.stopwords:  # chat filler is meant as typed: "stuff" is not "staff"
            return None
        count = english_count_at_least(word, ENGLISH_COUNT_STEPS)
        if count >= RARE_ENGLISH_WORD_COUNT:  # a common word: no need to look for what was meant
            return None
        fixed = speller.correct(word)
        if not fixed:
            return None
        # A form of a word the articles use ("handles"), or an English word, is no typo, unless
        # it is one letter away from a word of a role name or synonym ("directer", "manger"):
        # "motivating" (the articles say "motivate") is not "mitigating".
        if count >= ENGLISH_WORD_MIN_COUNT and (fixed not in self._vocabulary_words or edit_distance(word, fixed) > 1
                                                or (not needs_stemmer(word) and stem(word) in self.indexed_terms)):
            return None
        return fixed

    def _unstemmed_words(self, question: str) -> list[str]:
        """The question's words that ``_query`` may leave unstemmed: none when one is a typo, else
        those not stemmed before whose every possible stem is neither an indexed term nor a
        possible stem of another word of the question or of a synonym's meaning.

        Their stems, whatever they are, then match no indexed term (or pair) and equal no other
        term of the question, which is all ``_query`` and the retriever ever compare stems
        with; so the words themselves do as well, and answers are the same. This saves
        importing NLTK (over a second of a cold start) for the unknown words of a question.
        """
        text = normalize(question)
        found = words(text)
        if not any(map(needs_stemmer, found)):
            return []
        if any(self._correction(w) for w in _WORD.findall(text)):
            return []  # a typo: the corrected question is analysed as usual
        found += words(self.vocabulary.canonicalize(text))  # the words ``_query`` stems are among these

        unseen = list(dict.fromkeys(w for w in found if needs_stemmer(w)))
        taken = {stem(w) for w in found if not needs_stemmer(w) and self._stemmed(w)}
        for word in unseen:
            possible = self._free_stems(word)
            if possible is None or not taken.isdisjoint(possible):
                return []
            taken |= possible
        return unseen

    def _stemmed(self, word: str) -> bool:
        # Single letters and stop words never become terms (title words are stemmed to be
        # looked up): their stems clash with nothing.
        return len(word) > 1 and (word not in STOP_WORDS or word in self.vocabulary.titles)

    def meaning_stems(self) -> set[str]:
        """What the words of every synonym's meaning stem (or may stem) to: with the indexed
        terms, what the stem of a question's unknown word is compared with."""
        if self._meaning_stems is None:
            meanings = [normalize(c) for c in self.vocabulary.terms]
            self._meaning_stems = set().union(*(possible_stems(w) if needs_stemmer(w) else {stem(w)}
                                                for m in meanings for w in words(m) if self._stemmed(w)))
            # A meaning without terms is told apart by its text (``_subject``'s key).
            self._meaning_stems.update(m for m in meanings if not any(map(is_content_word, words(m))))
        return self._meaning_stems

    def _free_stems(self, word: str) -> frozenset[str] | None:
        """``possible_stems(word)`` when none is an indexed term or a meaning's stem, else None
        (remembered per word: the same unknown words come up again and again)."""
        if word not in self._free:
            if len(self._free) > 10_000:
                self._free.clear()
            possible = frozenset(possible_stems(word))
            clear = possible.isdisjoint(self.meaning_stems()) and self.indexed_terms.isdisjoint(possible)
            self._free[word] = possible if clear else None
        return self._free[word]

    def _query(self, question: str) -> Query:
        text = normalize(question)
        corrections = {word: fixed for word in dict.fromkeys(_WORD.findall(text))
                       if (fixed := self._correction(word)) is not None}
        if corrections:  # most questions have none: no rewriting then
            text = _WORD.sub(lambda match: corrections.get(match.group(0), match.group(0)), text)
        canon = self.vocabulary.canonicalize(text)
        tokens = words(canon)
        own = self.content_words(canon, tokens)
        explained: set[str] = set()  # words a synonym accounts for
        idioms: set[str] = set()  # words of a multi-word phrase ("in common", "make sure")
        meanings: list[str] = []
        for alias, canonical in self.vocabulary.expansions(canon):
            explained.update(words(alias))
            # A hyphenated word ("hands-on") is a word of its own, not an idiom.
            if len(words(alias)) > 1 and "-" not in alias and not self._indexed_phrase(alias):
                idioms.update(words(alias))
            meanings.append(canonical)
        if _CHOICE.search(canon):  # "should we hire a vp or a coo": whatever "choose between" means here
            meanings += self._meanings_of("choose between")
        if _ALSO_BE.search(" ".join(canon.split())):
            meanings += self._meanings_of("one person")
        # "what does a coo do in a small business": their duties there (the role alone, "what does a
        # coo do", is answered as such: see ``Engine``)
        if _WHAT_DOES_DO.search(canon) and any(not w.startswith(ROLE_PREFIX) for w in own):
            meanings += self._meanings_of("what do they do")
        if _WHAT_DOES_MAKE.search(canon):
            meanings += self._meanings_of("how much do they make")
        # A word a synonym explains is replaced by what it means when the articles don't use it
        # ("certs", "salery") or when it is part of an idiom ("in common" is not "common").
        kept = [w for w in own if w not in idioms and (w not in explained or stem(w) in self.indexed_terms)]
        # Word pairs only from words that stand together: the question's own, or one synonym's.
        groups = [content_terms(" ".join(kept)), *(content_terms(m) for m in dict.fromkeys(meanings))]
        unigrams = list(dict.fromkeys(t for g in groups for t in g))
        pairs = [f"{a} {b}" for g in groups for a, b in pairwise(g)] if self.bigrams else []
        terms = unigrams + list(dict.fromkeys(pairs))
        setting = _setting_words(canon)
        unknown = [
            w for w in own
            if w not in explained and not w.startswith(("$", ROLE_PREFIX)) and stem(w) not in self.indexed_terms
            and w not in setting
        ]
        return Query(
            text=canon, terms=terms, roles=self.roles_in(canon, tokens),
            unknown_titles=self._unknown_titles(tokens, clause_starts(canon)),
            uncovered=self.vocabulary.uncovered_in(canon),
            unknown_words=unknown, corrections=corrections,
            subject=self._subject([*(w for w in kept if not w.startswith(ROLE_PREFIX)), *meanings]),
            asked=len(set(own)),
        )

    def content_words(self, canonical_text: str, tokens: list[str] | None = None) -> list[str]:
        """The words of a question's (canonical) text that are not stop words (nor single
        letters, but for "$"); ``tokens``: ``words(canonical_text)``, when known."""
        stop = self._stop_words
        return [w for w in (words(canonical_text) if tokens is None else tokens)
                if w not in stop and (len(w) > 1 or w.startswith("$"))]

    def uses(self, word: str) -> bool:
        """True when the articles use the word (its stem, or its plural's: "kpi" for their "KPIs"),
        or it is a role term."""
        indexed = self.indexed_terms
        return word.startswith(ROLE_PREFIX) or stem(word) in indexed or stem(f"{word}s") in indexed

    def _meanings_of(self, phrase: str) -> list[str]:
        """What the vocabulary says a phrase means: the question a wording asks without saying it."""
        return [canonical for _, canonical in self.vocabulary.expansions(phrase)]

    def _indexed_phrase(self, phrase: str) -> bool:
        """True when the articles use this multi-word phrase themselves ("hands-on management" is
        theirs; "in common" is an idiom they don't use): its words then keep their own meaning."""
        terms = content_terms(phrase)
        return len(terms) > 1 and all(f"{a} {b}" in self.indexed_pairs for a, b in pairwise(terms))

    @staticmethod
    def _subject(phrases: list[str]) -> list[str]:
        """Distinct words and phrases, one per stem ("hire", "hiring" -> "hire"), and no phrase
        whose words are all there already ("average salary" after "average" and "salary")."""
        seen: set[str] = set()
        out = []
        for phrase in phrases:
            terms = content_terms(phrase)
            key = " ".join(terms) or phrase
            if key not in seen and not (len(set(terms)) > 1 and seen.issuperset(terms)):
                seen.add(key)
                seen.update(terms)
                out.append(phrase)
        return out

    def _unknown_titles(self, tokens: list[str], clause_starts: set[int] = frozenset()) -> list[str]:
        """Job titles named in a question (its canonical text's ``words``) that the knowledge base
        never uses ("project manager").

        A title word counts as known when the articles use it with the same qualifier
        ("department managers") or, without a qualifier, use the word at all. A word of another
        clause (``clause_starts``: "day to day, managers") qualifies nothing.
        """
        if self._title_words.isdisjoint(tokens):  # most questions name no title
            return []
        found = []
        for i, word in enumerate(tokens):
            # "vp of sales", "head of marketing": role names not rewritten to a known role.
            if word in _OF_TITLES and tokens[i + 1:i + 2] == ["of"] and len(tokens) > i + 2 \
                    and tokens[i + 2] not in STOP_WORDS:
                found.append(f"{word} of {tokens[i + 2]}")
                continue
            if word not in self.vocabulary.titles:
                continue
            before = tokens[i - 1] if i and i not in clause_starts else ""
            if _asker_was(tokens, i - 1 if before and before not in STOP_WORDS else i):
                continue  # the asker's own job ("moving from a plant supervisor job"), not the subject
            if before and before not in STOP_WORDS and not before.startswith(ROLE_PREFIX):
                known = self.indexed_pairs if self.title_pairs is None else self.title_pairs
                if f"{stem(before)} {stem(word)}" not in known:
                    found.append(f"{before} {word}")
            elif stem(word) not in self.indexed_terms:
                found.append(word)
        return found
