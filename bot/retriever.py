"""TF-IDF retrieval over passages, with structure- and role-aware scoring.

A passage is scored on three fields with their own weight: its whole text, its best sentence
(so one precise sentence in a long section still counts), and its headings (section heading,
FAQ question). The sum is then scaled by how well the passage is about the role(s) the question
names, by how much of the question it covers, and down for an article's lead-in.
Everything learned from the passages ends in ``_``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from bot.analysis import Analyzer, Query
from bot.ingest import Passage
from bot.textproc import sentences
from bot.vocabulary import ROLE_PREFIX


@dataclass(frozen=True)
class Hit:
    """A passage and how well it matches a question."""

    passage: Passage
    score: float  # ranking score
    coverage: float  # share of the question's term weight the passage contains
    role_match: float  # 1.0 when the passage is about every role asked about; 1.0 with no role
    content_coverage: float = 1.0  # like coverage, roles left out: is what was asked about here?
    focus: tuple[str, ...] = ()  # the covered roles this passage is about


@dataclass(frozen=True)
class Weights:
    """How much each field counts; defaults come from the benchmark (see ``bot.config``)."""

    body: float = 0.45
    sentence: float = 0.25
    context: float = 0.2
    role_floor: float = 0.2  # score multiplier for a passage about none of the asked roles
    coverage_floor: float = 0.1  # multiplier for a passage holding none of the question's terms
    lead: float = 0.4  # multiplier for an article's lead-in ("In this article, we will ...")
    focus: float = 0.35  # bonus for a passage whose heading names exactly the roles asked about


def _units(passage: Passage, analyzer: Analyzer) -> list[str]:
    """Sentences, list items and table rows of a passage: the finest things a question targets.

    Units with fewer than three terms (a table's header "VP Operations COO") are left out: they
    would match any question naming the same roles perfectly while saying nothing.
    """
    out = []
    for line in passage.text.split("\n"):
        for unit in sentences(line) if len(line) > 160 else [line]:
            if len({t for t in analyzer.terms(unit) if " " not in t}) >= 3:
                out.append(unit)
    return out


_PREAMBLE = re.compile(
    r"\b(?:in this (?:article|post|guide)|this article|we (?:will|aim|hope)|let(?:'|’)s|join us|delve|"
    r"shed(?:ding)? light|a common question|here are (?:the|some)|read on|"
    r"it(?:'|’)s (?:important|essential|crucial) to understand|there are (?:also )?(?:some|several|many|key|"
    r"notable|distinct) (?:key |general |notable )?(?:differences|distinctions|traits|factors|aspects)|"
    r"understanding (?:the|these) (?:key )?(?:differences|distinctions|nuances))\b",
    re.IGNORECASE,
)


def is_preamble(text: str) -> bool:
    """True for a passage that mostly announces what comes ("In this article, we will ...")."""
    # Headings and table rows don't end like sentences; only prose can announce.
    units = [s for line in text.split("\n") for s in sentences(line) if s.rstrip().endswith((".", "!", "?", ":"))]
    return bool(units) and sum(bool(_PREAMBLE.search(u)) for u in units) * 2 >= len(units)


class TfidfRetriever:
    """Index passages once, then ``retrieve(question)`` returns the best ``Hit``s."""

    _MATRICES = ("body_", "context_", "sentences_")

    def __init__(self, analyzer: Analyzer, weights: Weights | None = None, sublinear_tf: bool = True) -> None:
        self.analyzer = analyzer
        self.weights = weights or Weights()
        self.sublinear_tf = sublinear_tf

    # -- building ------------------------------------------------------------------------
    def _vectorizer(self, vocabulary: dict[str, int] | None = None) -> TfidfVectorizer:
        return TfidfVectorizer(
            analyzer=self.analyzer.terms, sublinear_tf=self.sublinear_tf, vocabulary=vocabulary,
            dtype=np.float32,
        )

    def index(self, passages: list[Passage]) -> TfidfRetriever:
        """Learn the vocabulary and weights from ``passages`` and vectorise them."""
        if not passages:
            raise ValueError("no passages to index")
        self.passages_ = list(passages)
        documents = [f"{p.text}\n{p.context}" for p in passages]
        self.analyzer.learn(documents)
        self.vectorizer_ = self._vectorizer()
        self.vectorizer_.fit(documents)
        self.body_ = self.vectorizer_.transform([p.text for p in passages]).tocsr()
        self.context_ = self.vectorizer_.transform([p.context for p in passages]).tocsr()
        units = [_units(p, self.analyzer) for p in passages]
        self.sentence_owner_ = np.repeat(np.arange(len(passages)), [len(u) for u in units]).astype(np.int32)
        self.sentences_ = self.vectorizer_.transform([s for u in units for s in u]).tocsr()
        self.lead_ = np.array([p.section in (None, p.title) or is_preamble(p.text) for p in passages])
        self._index_roles(units)
        self._prepare()
        return self

    def _index_roles(self, units: list[list[str]]) -> None:
        """Per passage and role: sentences naming it, and whether its heading / title does."""
        self.roles_ = sorted(self.analyzer.vocabulary.role_names)
        column = {r: i for i, r in enumerate(self.roles_)}
        shape = (len(self.passages_), len(self.roles_))
        mentions, heading, title = (np.zeros(shape, dtype=np.float32) for _ in range(3))
        for i, p in enumerate(self.passages_):
            for unit in units[i] or [p.text]:
                for role in set(self.analyzer.roles_in(self.analyzer.canonical(unit))) & column.keys():
                    mentions[i, column[role]] += 1
            for target, text in ((heading, p.context), (title, p.title)):
                for role in self.analyzer.roles_in(self.analyzer.canonical(text)):
                    if role in column:
                        target[i, column[role]] = 1
        self.role_mentions_, self.role_heading_, self.role_title_ = mentions, heading, title

    def _prepare(self) -> None:
        """Derived, query-time structures (rebuilt on load rather than stored)."""
        self._idf = self.vectorizer_.idf_.astype(np.float32)
        self._max_idf = float(self._idf.max())
        vocabulary = self.vectorizer_.vocabulary_
        self._is_role_term = np.zeros(len(vocabulary), dtype=bool)
        for term, j in vocabulary.items():
            self._is_role_term[j] = any(part.startswith(ROLE_PREFIX) for part in term.split())
        # Which passages contain which terms (in text or headings), for coverage.
        self._presence = ((self.body_ + self.context_) > 0).astype(np.float32).tocsr()
        self._role_column = {r: i for i, r in enumerate(self.roles_)}
        named = (self.role_heading_ + self.role_title_).sum(axis=0) > 0
        self._covered_roles = {r for r, yes in zip(self.roles_, named, strict=True) if yes}
        self._most_mentions = self.role_mentions_.max(axis=1, keepdims=True) if self.roles_ else None
        self._headed = (self.role_heading_.sum(axis=1, keepdims=True) > 0)
        self._focus = [self._passage_focus(i) for i in range(len(self.passages_))]

    # -- saving and loading (plain JSON + arrays; never pickle) ----------------------------
    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """JSON-able state and named arrays, enough for ``load_state`` to answer questions."""
        state = {
            "passages": [p.to_dict() for p in self.passages_],
            "vocabulary": self.vectorizer_.vocabulary_,
            "roles": self.roles_,
            "analyzer": self.analyzer.to_state(),
        }
        arrays: dict[str, np.ndarray] = {
            "idf": self.vectorizer_.idf_.astype(np.float64), "sentence_owner": self.sentence_owner_,
            "lead": self.lead_, "role_mentions": self.role_mentions_, "role_heading": self.role_heading_,
            "role_title": self.role_title_,
        }
        for name in self._MATRICES:
            m: sp.csr_matrix = getattr(self, name)
            key = name.rstrip("_")
            arrays.update({f"{key}.data": m.data, f"{key}.indices": m.indices, f"{key}.indptr": m.indptr,
                           f"{key}.shape": np.asarray(m.shape, dtype=np.int64)})
        return state, arrays

    def load_state(self, state: dict, arrays: dict[str, np.ndarray]) -> TfidfRetriever:
        """Restore from ``to_state`` output, checking that every shape agrees (ValueError if not)."""
        self.passages_ = [Passage.from_dict(d) for d in state["passages"]]
        vocabulary = {str(k): int(v) for k, v in state["vocabulary"].items()}
        n, v = len(self.passages_), len(vocabulary)
        if not n or sorted(vocabulary.values()) != list(range(v)):
            raise ValueError("vocabulary is not a 0..n-1 mapping")
        self.vectorizer_ = self._vectorizer(vocabulary)
        idf = np.asarray(arrays["idf"], dtype=np.float64)
        if idf.shape != (v,) or not np.all(np.isfinite(idf)):
            raise ValueError("idf does not match the vocabulary")
        self.vectorizer_.idf_ = idf
        for name in self._MATRICES:
            key = name.rstrip("_")
            shape = tuple(int(x) for x in arrays[f"{key}.shape"])
            matrix = sp.csr_matrix(
                (arrays[f"{key}.data"], arrays[f"{key}.indices"], arrays[f"{key}.indptr"]), shape=shape)
            matrix.check_format(full_check=True)
            if shape[1] != v or not np.all(np.isfinite(matrix.data)):
                raise ValueError(f"{key} matrix does not match the vocabulary")
            setattr(self, name, matrix)
        if self.body_.shape[0] != n or self.context_.shape[0] != n:
            raise ValueError("passage matrices do not match the passages")
        owner = np.asarray(arrays["sentence_owner"], dtype=np.int32)
        if owner.shape != (self.sentences_.shape[0],) or (len(owner) and not 0 <= owner.min() <= owner.max() < n):
            raise ValueError("sentence owners do not match")
        self.sentence_owner_ = owner
        self.roles_ = [str(r) for r in state["roles"]]
        self.lead_ = np.asarray(arrays["lead"], dtype=bool)
        for name in ("role_mentions", "role_heading", "role_title"):
            matrix = np.asarray(arrays[name], dtype=np.float32)
            if matrix.shape != (n, len(self.roles_)):
                raise ValueError(f"{name} does not match the passages")
            setattr(self, f"{name}_", matrix)
        if self.lead_.shape != (n,):
            raise ValueError("lead flags do not match the passages")
        self.analyzer.load_state(state["analyzer"])
        self._prepare()
        return self

    # -- querying ------------------------------------------------------------------------
    def query_vector(self, query: Query) -> tuple[np.ndarray, np.ndarray]:
        """The question's TF-IDF vector as (term columns, weights), exactly as
        ``vectorizer_.transform`` computes it, without its per-call validation overhead."""
        counts: dict[int, int] = {}
        vocabulary = self.vectorizer_.vocabulary_
        for term in query.terms:
            j = vocabulary.get(term)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        cols = np.fromiter(counts, dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
        if self.sublinear_tf:
            tf = 1.0 + np.log(tf)
        weights = tf * self._idf[cols]
        return cols, weights / np.linalg.norm(weights)

    def _dense(self, cols: np.ndarray, weights: np.ndarray) -> np.ndarray:
        vector = np.zeros(len(self._idf), dtype=np.float32)
        vector[cols] = weights
        return vector

    def role_support(self, roles: list[str]) -> np.ndarray:
        """Per passage, how much it is about the asked roles (0..1)."""
        cols = [self._role_column[r] for r in roles if r in self._role_column]
        if not cols:
            return np.ones(len(self.passages_), dtype=np.float32)
        mentions = self.role_mentions_[:, cols]
        heading = self.role_heading_[:, cols]
        title = self.role_title_[:, cols]
        # Named in its heading, or (no role in the heading) in two sentences and about as often as
        # any other role: about it; mentioned: 0.6 (an Operations Director section that mentions
        # the COO twice is still about the director); only in the article's title: 0.25.
        # A heading naming roles settles what the passage is about; otherwise the mentions do.
        about = (heading > 0) | ((mentions >= 2) & (mentions * 2 >= self._most_mentions) & ~self._headed)
        support = np.where(about, 1.0, np.where(mentions >= 1, 0.6, np.where(title > 0, 0.25, 0.0)))
        return support.mean(axis=1).astype(np.float32)

    def score(self, query: Query) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ranking score, term coverage, role support) for every passage."""
        n = len(self.passages_)
        support = self.role_support(query.roles)
        cols, weights = self.query_vector(query)
        if not len(cols):
            zeros = np.zeros(n, dtype=np.float32)
            return zeros, zeros, support
        vector = self._dense(cols, weights)
        body = self.body_ @ vector
        # Headings and sentences are matched on what is said; who it is about is the role
        # support's job (a bullet under "Responsibilities of a COO" rarely repeats "COO", and a
        # heading naming one of two roles asked about is no better for it).
        vector[self._is_role_term] = 0.0
        context = self.context_ @ vector
        per_sentence = self.sentences_ @ vector
        best_sentence = np.zeros(n, dtype=np.float32)
        np.maximum.at(best_sentence, self.sentence_owner_, per_sentence)
        coverage = self._coverage(query)
        w = self.weights
        ranking = (w.body * body + w.sentence * best_sentence + w.context * context)
        ranking *= w.role_floor + (1 - w.role_floor) * support
        ranking *= w.coverage_floor + (1 - w.coverage_floor) * coverage
        ranking[self.lead_] *= w.lead
        if query.roles and w.focus:
            ranking *= 1.0 + w.focus * self._focused(query.roles)

        return ranking, coverage, support

    def _focused(self, roles: list[str]) -> np.ndarray:
        """1 where the passage's heading names exactly the asked roles, else 0."""
        wanted = np.zeros(len(self.roles_), dtype=bool)
        for r in roles:
            if r in self._role_column:
                wanted[self._role_column[r]] = True
        return np.all((self.role_heading_ > 0) == wanted, axis=1).astype(np.float32)

    def _coverage(self, query: Query, with_roles: bool = True) -> np.ndarray:
        """Per passage, the idf-weighted share of the question's words it contains.

        Words no passage uses count with the highest idf, so an unknown word lowers coverage.
        """
        n = len(self.passages_)
        vocabulary = self.vectorizer_.vocabulary_
        words_ = [t for t in dict.fromkeys(query.terms)
                  if " " not in t and (with_roles or not t.startswith(ROLE_PREFIX))]
        known = np.array([vocabulary[t] for t in words_ if t in vocabulary], dtype=np.int64)
        missing = len(words_) - len(known) + len(query.unknown_words)
        total = float(self._idf[known].sum()) + missing * self._max_idf
        if total <= 0:
            return np.ones(n, dtype=np.float32) if not with_roles else np.zeros(n, dtype=np.float32)
        return (self._presence @ self._dense(known, self._idf[known])) / total

    def covers_roles(self, roles: list[str]) -> bool:
        """True when the articles are about at least one of ``roles`` (named in a title or heading),
        rather than only mentioning them in passing (a COO article mentioning the CFO)."""
        return any(r in self._covered_roles for r in roles)

    def retrieve(self, question: str | Query, k: int = 5) -> list[Hit]:
        """The ``k`` best passages for a question, best first."""
        query = self.analyzer.query(question) if isinstance(question, str) else question
        ranking, coverage, support = self.score(query)
        k = min(k, len(ranking))
        top = np.argpartition(-ranking, k - 1)[:k] if k < len(ranking) else np.arange(len(ranking))
        order = top[np.lexsort((top, -ranking[top]))]
        content = self._coverage(query, with_roles=False)
        return [
            Hit(self.passages_[i], float(ranking[i]), float(coverage[i]), float(support[i]), float(content[i]),
                self._focus[i])
            for i in order
        ]

    def focus(self, i: int) -> tuple[str, ...]:
        """The roles passage ``i`` is about: named in its heading, else in the most sentences."""
        return self._focus[i]

    def _passage_focus(self, i: int) -> tuple[str, ...]:
        covered = [j for j, r in enumerate(self.roles_) if r in self._covered_roles]
        heading = [self.roles_[j] for j in covered if self.role_heading_[i, j] > 0]
        if heading:
            return tuple(heading)
        mentions = self.role_mentions_[i, covered] if covered else np.zeros(0)
        if not len(mentions) or mentions.max() <= 0:
            return ()
        top = 2 if mentions.max() >= 2 else 1
        return tuple(self.roles_[j] for j, m in zip(covered, mentions, strict=True) if m >= top)
