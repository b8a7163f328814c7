"""TF-IDF matrices without scikit-learn, and the column-wise (inverted) scoring the retriever uses.

``TermCounts`` gives what ``TfidfVectorizer(analyzer=..., sublinear_tf=True, dtype=float32)``
gives, with the same numbers down to the last bit (``tests/test_termmatrix.py`` compares them):
it does the vectoriser's counting itself, and its weighting with scikit-learn's
``TfidfTransformer`` (the second half of ``TfidfVectorizer``). Counting here lets an index be
built from term lists computed once (not once per field, as a vectoriser calling the analyzer
would) and keeps counts in compact arrays (at 100,000 passages, the vectoriser's Python lists of
column numbers took gigabytes).

Matrices are kept by column (CSC): a question touches a few dozen terms, so scoring reads those
columns' postings instead of multiplying every row of the matrix.
"""

from __future__ import annotations

import dataclasses
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np


def top_k(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest values, in no order: the very ones
    ``np.argpartition(-values, k - 1)[:k]`` gives.

    In a large array they are looked for only among the values at least as large as the k-th
    largest of every 64th one (so there are k at least): a few hundred instead of all, a fifth
    of partitioning them all. When the k-th largest value ties with one left out, which of the
    tied ones count is argpartition's choice, so it is asked instead.
    """
    if k >= len(values):
        return np.arange(len(values))
    if k <= 0:
        return np.zeros(0, dtype=np.intp)
    sample = values[::64]
    if len(values) >= 8192 and len(sample) > k:
        threshold = np.partition(sample, len(sample) - k)[len(sample) - k]
        candidates = np.flatnonzero(values >= threshold)
        if len(candidates) >= k:
            found = values[candidates]
            chosen = np.argpartition(-found, k - 1)[:k]
            kth = found[chosen].min()
            if np.count_nonzero(found == kth) == np.count_nonzero(found[chosen] == kth):  # no tie left out
                return candidates[chosen]
    return np.argpartition(-values, k - 1)[:k]


# Matrices up to this size are also kept dense (terms x rows; at most 16 MB), see ``Postings.dot``.
DENSE_MAX_ROWS = 512
DENSE_MAX_CELLS = 4_000_000
# In larger ones, so are the columns of terms in at least this share of the rows, up to this much.
COMMON_SHARE = 0.25
COMMON_MAX_BYTES = 48_000_000


@dataclass
class Postings:
    """A term-by-column sparse matrix (CSC arrays): for each term, the rows holding it."""

    data: np.ndarray  # float32 weights
    indices: np.ndarray  # int32 row of each weight
    indptr: np.ndarray  # int64, one more than there are terms
    n_rows: int
    _dense: np.ndarray | None = dataclasses.field(init=False, repr=False, compare=False)
    _common: dict[int, np.ndarray] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # For a matrix of few rows (the bundled articles' passages), every term's weights over all
        # rows as well: there, a call per term cost more than the arithmetic (see ``dot``).
        self._dense = None
        self._common = {}
        if self.n_rows <= DENSE_MAX_ROWS and self.n_rows * self.n_terms <= DENSE_MAX_CELLS:
            self._dense = np.zeros((self.n_terms, self.n_rows), dtype=np.float32)
            self._dense[np.repeat(np.arange(self.n_terms), np.diff(self.indptr)), self.indices] = self.data
            return
        # In a large one, the commonest terms' weights over all rows: adding a whole column beats
        # adding entry by entry once a term is in a sixth of the rows, and questions ask about
        # common terms (of a collection about operations roles, "operations" is in most passages).
        counts = np.diff(self.indptr)
        common = np.flatnonzero(counts >= self.n_rows * COMMON_SHARE)
        common = common[np.argsort(-counts[common], kind="stable")][:COMMON_MAX_BYTES // (4 * max(1, self.n_rows))]
        if len(common):
            block = np.zeros((len(common), self.n_rows), dtype=np.float32)
            for slot, j in enumerate(common.tolist()):
                start, stop = self.indptr[j], self.indptr[j + 1]
                block[slot, self.indices[start:stop]] = self.data[start:stop]
                self._common[j] = block[slot]

    @classmethod
    def from_csr(cls, matrix) -> Postings:
        csc = matrix.tocsc()
        csc.sort_indices()
        return cls(csc.data.astype(np.float32, copy=False), csc.indices.astype(np.int32, copy=False),
                   csc.indptr.astype(np.int64, copy=False), int(matrix.shape[0]))

    @property
    def dense(self) -> np.ndarray | None:
        """The whole matrix, terms by rows, when it is kept dense (see ``__post_init__``)."""
        return self._dense

    @property
    def n_terms(self) -> int:
        return len(self.indptr) - 1

    @property
    def nnz(self) -> int:
        return int(self.indptr[-1])

    def dot(self, cols: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """``matrix @ vector`` for a vector that is ``weights`` at ``cols`` (ascending) and 0 elsewhere,
        as a dense float32 array over all rows.

        Each row's sum is taken in ascending column order in float32: the very additions a CSR
        product with the dense vector makes (its other terms add exact zeros), so scores equal
        the row-wise product's to the bit. One ``np.add.at`` per column (NumPy's fast path takes about
        a nanosecond per entry): gathering all the columns' entries into one array first cost
        twice as much again as the additions, and more than the calls saved even for short columns.
        """
        weights = weights.astype(np.float32, copy=False)
        dense = self._dense
        if dense is not None:
            if not len(cols):
                return np.zeros(self.n_rows, dtype=np.float32)
            # A running sum down the terms' rows: the same additions in the same order (a term
            # a row lacks adds an exact zero), in three calls however many terms.
            return np.add.accumulate(dense.take(cols, axis=0) * weights[:, None], axis=0)[-1]
        out = np.zeros(self.n_rows, dtype=np.float32)
        indptr, indices, data, common = self.indptr, self.indices, self.data, self._common
        ones = data.strides == (0,) and len(data) > 0 and data[0] == 1  # a pattern (weights all 1): add w itself
        for j, start, stop, w in zip(cols.tolist(), indptr[cols].tolist(), indptr[cols + 1].tolist(), weights,
                                     strict=True):
            column = common.get(j)
            if column is not None:  # the same addition for every row holding the term, 0 for the others
                out += column * w
            else:
                np.add.at(out, indices[start:stop], w if ones else data[start:stop] * w)
        return out

    def dot_max(self, cols: np.ndarray, weights: np.ndarray, groups: np.ndarray, n_groups: int,
                entry_groups: np.ndarray | None = None) -> np.ndarray:
        """The largest of ``dot``'s row sums within each group of rows (``groups``: the group of
        each row), 0 for a group without any of the terms (sums are never negative).

        ``entry_groups`` (``entry_groups(groups)``, for a large matrix) saves looking up the group
        of each entry of the terms' columns: a third of the time.
        """
        sums = self.dot(cols, weights)
        best = np.zeros(n_groups, dtype=np.float32)
        if self.n_rows <= 8192:  # all rows at once: fewer calls than finding the few touched
            np.maximum.at(best, groups, sums)
            return best
        indptr, indices = self.indptr, self.indices
        for start, stop in zip(indptr[cols].tolist(), indptr[cols + 1].tolist(), strict=True):
            # np.take: half the time of fancy indexing for these tens of thousands of rows.
            rows = indices[start:stop]
            np.maximum.at(best, entry_groups[start:stop] if entry_groups is not None else np.take(groups, rows),
                          np.take(sums, rows))
        return best

    def entry_groups(self, groups: np.ndarray) -> np.ndarray:
        """The group (``groups[row]``) of every stored entry's row, for ``dot_max``."""
        return np.take(groups, self.indices)

    def dot_rows(self, rows: np.ndarray, cols: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """``dot`` for a few ``rows`` only: the same float32 sums, term by term in ascending order."""
        if self._dense is not None or int((self.indptr[cols + 1] - self.indptr[cols]).sum()) < 20_000:  # cheaper
            return self.dot(cols, weights)[rows]
        out = np.zeros(len(rows), dtype=np.float32)
        weights = weights.astype(np.float32, copy=False)
        for j, w in zip(cols.tolist(), weights, strict=True):
            start, stop = int(self.indptr[j]), int(self.indptr[j + 1])
            column = self.indices[start:stop]  # sorted rows
            at = np.minimum(np.searchsorted(column, rows), max(0, len(column) - 1))
            here = (column[at] == rows) if len(column) else np.zeros(len(rows), dtype=bool)
            out[here] += self.data[start + at[here]] * w
        return out

    def arrays(self, key: str) -> dict[str, np.ndarray]:
        return {f"{key}.data": self.data, f"{key}.indices": self.indices, f"{key}.indptr": self.indptr,
                f"{key}.shape": np.asarray([self.n_rows, self.n_terms], dtype=np.int64)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], key: str, n_terms: int) -> Postings:
        """Read back ``arrays(key)``, checking everything a query would index with (ValueError)."""
        data = np.asarray(arrays[f"{key}.data"])
        indices = np.asarray(arrays[f"{key}.indices"])
        indptr = np.asarray(arrays[f"{key}.indptr"])
        shape = [int(x) for x in np.asarray(arrays[f"{key}.shape"]).ravel()]
        if data.dtype != np.float32 or indices.dtype != np.int32 or indptr.dtype != np.int64 or data.ndim != 1:
            raise ValueError(f"{key} matrix has unexpected types")
        if len(shape) != 2 or shape[1] != n_terms or len(indptr) != n_terms + 1 or shape[0] < 0:
            raise ValueError(f"{key} matrix does not match the vocabulary")
        nnz = len(data)
        if len(indices) != nnz or indptr[0] != 0 or indptr[-1] != nnz or np.any(np.diff(indptr) < 0):
            raise ValueError(f"{key} matrix is inconsistent")
        if nnz and (indices.min() < 0 or indices.max() >= shape[0] or not np.isfinite(data).all()):
            raise ValueError(f"{key} matrix points outside its rows")
        return cls(data, indices, indptr, shape[0])


class TermCounts:
    """Counts terms of several fields (rows of text), then turns them into TF-IDF matrices.

    Terms get provisional numbers as they are first seen; ``finish`` sorts the vocabulary
    (the ``documents`` field's terms: other fields' terms outside it are dropped, as a fitted
    vectoriser's ``transform`` drops them) and renumbers.
    """

    def __init__(self, fields: Sequence[str], documents: str) -> None:
        self.ids: dict[str, int] = {}
        self.documents = documents
        self._indices = {f: array("i") for f in fields}
        self._counts = {f: array("i") for f in fields}
        self._indptr = {f: array("q", [0]) for f in fields}

    def add(self, field: str, terms: Iterable[str] | Mapping[str, int]) -> None:
        """One row of ``field``: its terms, or how often each occurs."""
        counts = terms if isinstance(terms, Mapping) else Counter(terms)
        ids = self.ids
        row = list(map(ids.get, counts))  # most terms are known after the first few rows
        if None in row:  # new terms numbered in order (a word pair is new more often than not)
            row = [ids.setdefault(term, len(ids)) for term in counts]
        self._indices[field].extend(row)
        self._counts[field].extend(counts.values())
        self._indptr[field].append(len(self._indices[field]))

    def absorb(self, other: TermCounts) -> None:
        """Append ``other``'s rows (same fields) after this one's, renumbering its terms."""
        ids = self.ids
        renumber = np.fromiter((ids.setdefault(t, len(ids)) for t in other.ids), dtype=np.int64,
                               count=len(other.ids))
        for field, indices in other._indices.items():
            mine = self._indices[field]
            offset = len(mine)
            if len(indices):
                mine.frombytes(renumber[np.frombuffer(indices, dtype=np.int32)].astype(np.int32).tobytes())
            self._counts[field].extend(other._counts[field])
            self._indptr[field].extend((np.frombuffer(other._indptr[field], dtype=np.int64)[1:] + offset).tolist())

    def _count_matrix(self, field: str, renumber: np.ndarray, n_terms: int, sort: bool = True) -> object:
        """``field``'s counts as a float32 CSR matrix over the final vocabulary (other terms dropped),
        each row's terms in order unless ``sort`` is off (for document frequencies, order is moot)."""
        import scipy.sparse as sp

        cols = renumber[np.frombuffer(self._indices[field], dtype=np.int32)]
        counts = np.frombuffer(self._counts[field], dtype=np.int32)
        indptr = np.frombuffer(self._indptr[field], dtype=np.int64)
        keep = cols >= 0
        kept_before = np.concatenate(([0], np.cumsum(keep, dtype=np.int64)))
        indptr = kept_before[indptr]  # each row's start among the kept entries
        matrix = sp.csr_matrix((counts[keep].astype(np.float32), cols[keep].astype(np.int32), indptr),
                               shape=(len(indptr) - 1, n_terms))
        if sort:
            matrix.sort_indices()
        return matrix

    def finish(self, sublinear_tf: bool = True) -> tuple[dict[str, int], np.ndarray, dict[str, object]]:
        """(vocabulary, idf, CSR tf-idf matrix per other field): what ``TfidfVectorizer`` fitted on
        the documents field and applied to each field would give, as float32."""
        from sklearn.feature_extraction.text import TfidfTransformer

        by_id = list(self.ids)
        seen = np.zeros(len(by_id), dtype=bool)  # np.unique's answer without its sort (a tenth of finishing)
        seen[np.frombuffer(self._indices[self.documents], dtype=np.int32)] = True
        in_vocabulary = np.flatnonzero(seen)
        terms = [by_id[j] for j in in_vocabulary.tolist()]
        order = sorted(range(len(terms)), key=terms.__getitem__)
        vocabulary = {terms[k]: i for i, k in enumerate(order)}
        renumber = np.full(len(by_id), -1, dtype=np.int64)
        renumber[in_vocabulary[np.asarray(order, dtype=np.int64)]] = np.arange(len(order))
        # Counting is ours (compact arrays, see the module's docstring); the weighting is
        # scikit-learn's, exactly what TfidfVectorizer applies after counting.
        transformer = TfidfTransformer(sublinear_tf=sublinear_tf)
        transformer.fit(self._count_matrix(self.documents, renumber, len(vocabulary), sort=False))
        idf = transformer.idf_.astype(np.float32, copy=False)
        matrices: dict[str, object] = {}
        for field in [f for f in self._indices if f != self.documents]:  # documents only count for idf
            matrix = transformer.transform(self._count_matrix(field, renumber, len(vocabulary)), copy=False)
            matrix.sort_indices()
            matrices[field] = matrix
        return vocabulary, idf, matrices
