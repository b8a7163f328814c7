"""TF-IDF retrieval over passages, with structure- and role-aware scoring.

A passage is scored on three fields with their own weight: its whole text, its best sentence
(so one precise sentence in a long section still counts), and its context (document title,
headings, FAQ question). The sum is then scaled by how well the passage is about the role(s)
the question names. Everything learned from the passages ends in ``_``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from bot.analysis import Analyzer, Query
from bot.ingest import Passage
from bot.textproc import sentences, words


@dataclass(frozen=True)
class Hit:
    """A passage and how well it matches a question."""

    passage: Passage
    score: float  # ranking score
    coverage: float  # share of the question's term weight the passage contains
    role_match: float  # 1.0 when the passage is about every role asked about; 1.0 with no role


@dataclass(frozen=True)
class Weights:
    """How much each field counts; defaults come from the benchmark (see ``bot.config``)."""

    body: float = 0.45
    sentence: float = 0.35
    context: float = 0.2
    role_floor: float = 0.35  # score multiplier for a passage about none of the asked roles
    coverage_floor: float = 0.4  # multiplier for a passage holding none of the question's terms
    lead: float = 0.75  # multiplier for an article's lead-in ("In this article, we will ...")


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


class TfidfRetriever:
    """Index passages once, then ``retrieve(question)`` returns the best ``Hit``s."""

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
        self.analyzer.learn(p.text + "\n" + p.context for p in passages)
        self.vectorizer_ = self._vectorizer()
        self.vectorizer_.fit([p.text + "\n" + p.context for p in passages])
        self.body_ = self.vectorizer_.transform([p.text for p in passages]).tocsr()
        self.context_ = self.vectorizer_.transform([p.context for p in passages]).tocsr()
        units = [_units(p, self.analyzer) for p in passages]
        self.sentence_owner_ = np.repeat(np.arange(len(passages)), [len(u) for u in units]).astype(np.int32)
        self.sentences_ = self.vectorizer_.transform([s for u in units for s in u]).tocsr()
        self.lead_ = np.array([p.section in (None, p.title) for p in passages])
        self._index_roles()
        return self

    def _index_roles(self) -> None:
        roles = sorted(self.analyzer.vocabulary.role_names)
        self.roles_ = roles
        column = {r: i for i, r in enumerate(roles)}
        body = np.zeros((len(self.passages_), len(roles)), dtype=np.float32)
        heading = np.zeros_like(body)
        for i, p in enumerate(self.passages_):
            for w in words(self.analyzer.canonical(p.text)):
                if w in column:
                    body[i, column[w]] += 1
            head = " ".join(filter(None, [p.section or "", p.question or ""]))
            for w in words(self.analyzer.canonical(head)):
                if w in column:
                    heading[i, column[w]] = 1
        self.role_body_, self.role_heading_ = body, heading

    # -- saving and loading (plain JSON + arrays; never pickle) ----------------------------
    _MATRICES = ("body_", "context_", "sentences_")

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
            "lead": self.lead_, "role_body": self.role_body_, "role_heading": self.role_heading_,
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
            if shape[1] != v:
                raise ValueError(f"{key} matrix has {shape[1]} columns for {v} terms")
            setattr(self, name, matrix)
        if self.body_.shape[0] != n or self.context_.shape[0] != n:
            raise ValueError("passage matrices do not match the passages")
        self.sentence_owner_ = np.asarray(arrays["sentence_owner"], dtype=np.int32)
        if self.sentence_owner_.shape != (self.sentences_.shape[0],) or (
                len(self.sentence_owner_) and not 0 <= self.sentence_owner_.min() <= self.sentence_owner_.max() < n):
            raise ValueError("sentence owners do not match")
        self.roles_ = [str(r) for r in state["roles"]]
        self.lead_ = np.asarray(arrays["lead"], dtype=bool)
        self.role_body_ = np.asarray(arrays["role_body"], dtype=np.float32)
        self.role_heading_ = np.asarray(arrays["role_heading"], dtype=np.float32)
        if self.lead_.shape != (n,) or self.role_body_.shape != (n, len(self.roles_)) \
                or self.role_heading_.shape != self.role_body_.shape:
            raise ValueError("passage flags do not match the passages")
        self.analyzer.load_state(state["analyzer"])
        return self

    # -- querying ------------------------------------------------------------------------
    def role_support(self, roles: list[str]) -> np.ndarray:
        """Per passage, how much it is about the asked roles (0..1)."""
        n = len(self.passages_)
        cols = [self.roles_.index(r) for r in roles if r in self.roles_]
        if not cols:
            return np.ones(n, dtype=np.float32)
        body, head = self.role_body_[:, cols], self.role_heading_[:, cols]
        # Named in a heading or more than once: the passage is about it; once: it's mentioned.
        support = np.where((head > 0) | (body >= 2), 1.0, np.where(body == 1, 0.6, 0.0))
        return support.mean(axis=1).astype(np.float32)

    def score(self, query: Query) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ranking score, term coverage, role support) for every passage."""
        n = len(self.passages_)
        vocab = self.vectorizer_.vocabulary_
        qvec = self.vectorizer_.transform([query])
        if qvec.nnz == 0:
            zeros = np.zeros(n, dtype=np.float32)
            return zeros, zeros, self.role_support(query.roles)
        body = (self.body_ @ qvec.T).toarray().ravel()
        context = (self.context_ @ qvec.T).toarray().ravel()
        per_sentence = (self.sentences_ @ qvec.T).toarray().ravel()
        best_sentence = np.zeros(n, dtype=np.float32)
        np.maximum.at(best_sentence, self.sentence_owner_, per_sentence)
        w = self.weights
        support = self.role_support(query.roles)
        factor = w.role_floor + (1 - w.role_floor) * support
        ranking = (w.body * body + w.sentence * best_sentence + w.context * context) * factor
        ranking = ranking * np.where(self.lead_, w.lead, 1.0)
        # Coverage: how much of the question's (idf-weighted) content the passage holds.
        idf = self.vectorizer_.idf_
        unigrams = [t for t in dict.fromkeys(query.terms) if " " not in t]
        cols = [vocab[t] for t in unigrams if t in vocab]
        missing = len(unigrams) - len(cols) + len(query.unknown_words)
        total = float(idf[cols].sum()) + missing * float(idf.max())
        if cols and total > 0:
            present = ((self.body_[:, cols] + self.context_[:, cols]) > 0).toarray()
            coverage = (present * idf[cols]).sum(axis=1) / total
        else:
            coverage = np.zeros(n)
        ranking = ranking * (w.coverage_floor + (1 - w.coverage_floor) * coverage)
        return ranking.astype(np.float32), coverage.astype(np.float32), support

    def retrieve(self, question: str | Query, k: int = 5) -> list[Hit]:
        """The ``k`` best passages for a question, best first."""
        query = self.analyzer.query(question) if isinstance(question, str) else question
        ranking, coverage, support = self.score(query)
        order = np.argsort(-ranking, kind="stable")[:k]
        return [
            Hit(self.passages_[i], float(ranking[i]), float(coverage[i]), float(support[i]))
            for i in order
        ]
