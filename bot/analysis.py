"""Turning passages and questions into terms: the bridge between raw text and the TF-IDF index.

Both sides go through the same steps (normalise, rewrite role names, tokenise, stem); questions
also get spelling correction against the indexed words and synonym expansion from the
knowledge owner's vocabulary file.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
from nltk.metrics.distance import edit_distance
from sklearn.feature_extraction.text import TfidfVectorizer

from bot.textproc import STOP_WORDS, content_terms, normalize, stem, words
from bot.vocabulary import ROLE_PREFIX, Vocabulary

_WORD = re.compile(r"[a-z]+")
# Words that start a job title when followed by "of ..." ("head of marketing"); known roles are
# already rewritten to role terms by then, so what is left is a title the articles don't cover.
_OF_TITLES = {"vp", "vps", "head", "heads", "director", "directors", "president", "svp", "evp", "chief"}


def with_bigrams(terms: list[str]) -> list[str]:
    """Unigrams plus adjacent pairs, so "supply chain" weighs more than "supply" and "chain"."""
    return terms + [f"{a} {b}" for a, b in pairwise(terms)]


class SpellingCorrector:
    """Fixes typos by looking the word up among the words of the indexed texts.

    Candidates come from a character n-gram TF-IDF over the known words (fast, no word list
    scan); the closest candidate is accepted only within a small Damerau-Levenshtein distance,
    ties going to the word the texts use most ("officr" -> "officer", not "office").
    """

    def __init__(self, counts: dict[str, int], min_length: int = 5) -> None:
        self.counts = {w: int(c) for w, c in counts.items() if w.isalpha()}
        self.known = sorted(self.counts)
        self.min_length = min_length
        self._vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3), sublinear_tf=True)
        self._matrix = self._vectorizer.fit_transform(self.known) if self.known else None
        self._cache: dict[str, str | None] = {}

    def __contains__(self, word: str) -> bool:
        return word in self.counts

    def correct(self, word: str) -> str | None:
        """The known word meant by ``word``, or None when nothing is close enough."""
        if word in self.counts or len(word) < self.min_length or self._matrix is None:
            return None
        if word not in self._cache:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[word] = self._closest(word)
        return self._cache[word]

    def _closest(self, word: str) -> str | None:
        sims = (self._matrix @ self._vectorizer.transform([word]).T).toarray().ravel()
        limit = 1 if len(word) <= 8 else 2
        best: tuple[int, int, float] | None = None
        choice = None
        for idx in np.argsort(-sims)[:10]:
            candidate = self.known[idx]
            # Typos rarely hit the first letter; requiring it avoids "want" -> "cant".
            if sims[idx] <= 0 or candidate[0] != word[0] or abs(len(candidate) - len(word)) > limit:
                continue
            dist = edit_distance(word, candidate, transpositions=True)
            key = (dist, -self.counts[candidate], -float(sims[idx]))
            if dist <= limit and (best is None or key < best):
                best, choice = key, candidate
        return choice


@dataclass
class Query:
    """What faqbot understood from a question."""

    text: str  # normalised, corrected, role names rewritten
    terms: list[str]  # stemmed terms incl. synonym expansions (what is vectorised)
    roles: list[str]  # role terms asked about, in order of mention
    unknown_titles: list[str] = field(default_factory=list)  # job titles the knowledge doesn't cover
    unknown_words: list[str] = field(default_factory=list)  # content words no passage uses
    corrections: dict[str, str] = field(default_factory=dict)
    subject: list[str] = field(default_factory=list)  # the question's own content words, roles aside

    @property
    def content_words(self) -> int:
        return len({t for t in self.terms if " " not in t}) + len(self.unknown_words)


class Analyzer:
    """Text -> terms, for passages (``passage_terms``) and questions (``query``)."""

    def __init__(self, vocabulary: Vocabulary, bigrams: bool = True) -> None:
        self.vocabulary = vocabulary
        self.bigrams = bigrams
        self.speller: SpellingCorrector | None = None
        self.indexed_terms: set[str] = set()  # stems used by the passages
        self.indexed_pairs: set[str] = set()  # adjacent stem pairs used by the passages
        self._vocabulary_words = vocabulary.alias_words()

    # -- passages ------------------------------------------------------------------------
    def canonical(self, text: str) -> str:
        return self.vocabulary.canonicalize(normalize(text))

    def terms(self, doc: str | Query) -> list[str]:
        """The analyzer handed to TfidfVectorizer: passage text, or an analysed question."""
        if isinstance(doc, Query):
            return doc.terms
        terms = content_terms(self.canonical(doc))
        return with_bigrams(terms) if self.bigrams else terms

    def learn(self, texts: Iterable[str]) -> None:
        """Remember the words of the indexed texts: the spelling corrector's dictionary."""
        counts: Counter[str] = Counter()
        for text in texts:
            # Raw words (role names included: "officr" is a typo of "officer") and their stems,
            # which are often words themselves ("appointing" -> "appoint").
            raw = words(normalize(text))
            counts.update(raw)
            counts.update(stem(w) for w in raw)
            terms = content_terms(self.canonical(text))
            self.indexed_terms.update(terms)
            self.indexed_pairs.update(t for t in with_bigrams(terms) if " " in t)
        for word in self.vocabulary.alias_words() | STOP_WORDS:
            counts[word] += 1
        self.speller = SpellingCorrector(counts)

    def to_state(self) -> dict:
        return {
            "known_words": self.speller.counts if self.speller else {},
            "indexed_terms": sorted(self.indexed_terms),
            "indexed_pairs": sorted(self.indexed_pairs),
        }

    def load_state(self, state: dict) -> None:
        self.speller = SpellingCorrector({str(w): int(c) for w, c in dict(state["known_words"]).items()})
        self.indexed_terms = {str(t) for t in state["indexed_terms"]}
        self.indexed_pairs = {str(t) for t in state["indexed_pairs"]}

    # -- questions -----------------------------------------------------------------------
    def roles_in(self, canonical_text: str) -> list[str]:
        return list(dict.fromkeys(w for w in words(canonical_text) if w.startswith(ROLE_PREFIX)))

    def query(self, question: str) -> Query:
        text = normalize(question)
        corrections: dict[str, str] = {}

        def fix(match: re.Match[str]) -> str:
            word = match.group(0)
            fixed = self.speller.correct(word) if self.speller else None
            # A form of a word the articles use ("handles") is no typo, unless it is one letter
            # away from a word of a role name or synonym ("directer" -> "director").
            if not fixed or (stem(word) in self.indexed_terms and fixed not in self._vocabulary_words):
                return word
            corrections[word] = fixed
            return fixed

        text = _WORD.sub(fix, text)
        canon = self.vocabulary.canonicalize(text)
        stop = STOP_WORDS | self.vocabulary.stopwords
        own = [w for w in words(canon) if w not in stop and (len(w) > 1 or w.startswith("$"))]
        explained: set[str] = set()  # words a synonym accounts for
        idioms: set[str] = set()  # words of a multi-word phrase ("in common", "make sure")
        meanings: list[str] = []
        for alias, canonical in self.vocabulary.expansions(canon):
            explained.update(words(alias))
            if len(words(alias)) > 1:
                idioms.update(words(alias))
            meanings.append(canonical)
        # A word a synonym explains is replaced by what it means when the articles don't use it
        # ("certs", "salery") or when it is part of an idiom ("in common" is not "common").
        kept = [w for w in own if w not in idioms and (w not in explained or stem(w) in self.indexed_terms)]
        # Word pairs only from words that stand together: the question's own, or one synonym's.
        groups = [content_terms(" ".join(kept)), *(content_terms(m) for m in dict.fromkeys(meanings))]
        unigrams = list(dict.fromkeys(t for g in groups for t in g))
        pairs = [t for g in groups for t in with_bigrams(g) if " " in t] if self.bigrams else []
        terms = unigrams + list(dict.fromkeys(pairs))
        unknown = [
            w for w in own
            if w not in explained and not w.startswith(("$", ROLE_PREFIX)) and stem(w) not in self.indexed_terms
        ]
        return Query(
            text=canon, terms=terms, roles=self.roles_in(canon),
            unknown_titles=self._unknown_titles(canon), unknown_words=unknown, corrections=corrections,
            subject=self._subject([*(w for w in kept if not w.startswith(ROLE_PREFIX)), *meanings]),
        )

    @staticmethod
    def _subject(phrases: list[str]) -> list[str]:
        """Distinct words and phrases, one per stem ("hire", "hiring" -> "hire")."""
        seen: set[str] = set()
        out = []
        for phrase in phrases:
            key = " ".join(content_terms(phrase)) or phrase
            if key not in seen:
                seen.add(key)
                out.append(phrase)
        return out

    def _unknown_titles(self, canonical_text: str) -> list[str]:
        """Job titles named in a question that the knowledge base never uses ("project manager").

        A title word counts as known when the articles use it with the same qualifier
        ("department managers") or, without a qualifier, use the word at all.
        """
        found = []
        tokens = words(canonical_text)
        for i, word in enumerate(tokens):
            # "vp of sales", "head of marketing": role names not rewritten to a known role.
            if word in _OF_TITLES and tokens[i + 1:i + 2] == ["of"] and len(tokens) > i + 2 \
                    and tokens[i + 2] not in STOP_WORDS:
                found.append(f"{word} of {tokens[i + 2]}")
                continue
            if word not in self.vocabulary.titles:
                continue
            before = tokens[i - 1] if i else ""
            if before and before not in STOP_WORDS and not before.startswith(ROLE_PREFIX):
                if f"{stem(before)} {stem(word)}" not in self.indexed_pairs:
                    found.append(f"{before} {word}")
            elif stem(word) not in self.indexed_terms:
                found.append(word)
        return found
