"""faqbot's own TF-IDF, n-gram speller index, stemmer and edit distance give exactly the numbers
of the scikit-learn / NLTK code they replace (so answers did not change), and answering a
question from a saved index imports neither library (so a cold start stays fast)."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import REPO

from bot.analysis import Analyzer, SpellingCorrector
from bot.config import Settings
from bot.index_store import _retriever_for
from bot.ingest import load_folder
from bot.retriever import setting_terms
from bot.termmatrix import Postings, TermCounts
from bot.textproc import _SKLEARN_STOP_WORDS, stem


@pytest.fixture(scope="module")
def passages(shared_knowledge):
    found, _ = load_folder(shared_knowledge)
    return found


@pytest.fixture(scope="module")
def built(shared_knowledge, passages):
    return _retriever_for(shared_knowledge, Settings()).index(passages)


def _sklearn_tfidf(analyzer: Analyzer, passages):
    """scikit-learn's vectorizer over each passage's terms and the terms it inherits from its
    article's title (``setting_terms``), which faqbot counts in its text."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    inherits = setting_terms(passages, analyzer)

    def terms(item: tuple[str, str]) -> list[str]:
        text, title = item
        found = analyzer.terms(text)
        return found + sorted(inherits[title].difference(found)) if title else found

    vectorizer = TfidfVectorizer(analyzer=terms, sublinear_tf=True, dtype=np.float32)
    vectorizer.fit([(f"{p.text}\n{p.context}", p.title) for p in passages])
    return vectorizer


def test_term_counts_equal_scikit_learn_to_the_bit(built, passages):
    reference = _sklearn_tfidf(built.analyzer, passages)
    assert built.vocabulary_ == reference.vocabulary_
    assert built.idf_.dtype == np.float32 and np.array_equal(built.idf_, reference.idf_)
    for postings, texts in ((built.body_, [(p.text, p.title) for p in passages]),
                            (built.context_, [(p.context, None) for p in passages])):
        expected = reference.transform(texts).tocsc()
        expected.sort_indices()
        assert np.array_equal(postings.indptr, expected.indptr)
        assert np.array_equal(postings.indices, expected.indices)
        assert np.array_equal(postings.data, expected.data)


def test_term_counts_drop_terms_outside_the_documents():
    counts = TermCounts(("documents", "other"), documents="documents")
    counts.add("documents", ["b", "a", "a"])
    counts.add("other", ["zzz", "a"])
    counts.add("other", [])
    vocabulary, _, matrices = counts.finish()
    assert vocabulary == {"a": 0, "b": 1}
    other = matrices["other"]
    assert other.shape == (2, 2) and other.nnz == 1 and other[0, 0] == pytest.approx(1.0)


def test_analysing_in_several_processes_gives_the_same_index(shared_knowledge, passages, built):
    parallel = _retriever_for(shared_knowledge, Settings()).index(passages, workers=2)
    state, arrays = built.to_state()
    other_state, other_arrays = parallel.to_state()
    assert json.dumps(state, sort_keys=True) == json.dumps(other_state, sort_keys=True)
    assert arrays.keys() == other_arrays.keys()
    assert all(np.array_equal(arrays[k], other_arrays[k]) for k in arrays)


def test_normal_form_of_a_document_is_its_parts_joined(passages):
    from bot.textproc import normalize

    rng = random.Random(4)
    pieces = ["abc", " ", "X", "12k", "’", "\u200b", "\u00ad", "\ufb01", "é", "\u0301", "Σ", "\n", "organis", "ing"]
    pairs = [(p.text, p.context) for p in passages]
    pairs += [("".join(rng.choice(pieces) for _ in range(rng.randint(0, 6))),
               "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))) for _ in range(3000)]
    for text, context in pairs:
        assert normalize(f"{text}\n{context}") == " ".join(x for x in (normalize(text), normalize(context)) if x)


def test_column_scoring_equals_the_row_wise_product(built):
    rng = np.random.default_rng(0)
    for matrix in (built.body_, built.sentences_):
        csr = sp.csc_matrix((matrix.data, matrix.indices, matrix.indptr),
                            shape=(matrix.n_rows, matrix.n_terms)).tocsr()
        csr.sort_indices()
        for _ in range(30):
            cols = np.sort(rng.choice(matrix.n_terms, size=12, replace=False))
            weights = rng.random(12).astype(np.float32)
            dense = np.zeros(matrix.n_terms, dtype=np.float32)
            dense[cols] = weights
            got = matrix.dot(cols, weights)
            assert np.array_equal(got, csr @ dense)


def test_passages_focus_worked_out_at_once_is_each_ones(built):
    """``focus`` (a table made on load) is what working it out passage by passage gives."""
    roles, covered = built.roles_, [j for j, r in enumerate(built.roles_) if r in built._covered_roles]
    assert any(built.focus(i) for i in range(len(built.passages_)))
    for i in range(len(built.passages_)):
        heading = tuple(roles[j] for j in covered if built.role_heading_[i, j] > 0)
        mentions = [built.role_mentions_[i, j] for j in covered]
        top = 2 if max(mentions, default=0) >= 2 else 1
        mentioned = tuple(roles[j] for j, m in zip(covered, mentions, strict=True) if m >= top)
        assert built.focus(i) == (heading or mentioned), i


def test_a_small_index_scores_its_fields_at_once_to_the_bit(built):
    """``_field_sums`` (all fields from one matrix) gives what the matrices' own sums give."""
    assert built._fields is not None  # the bundled articles make a small index
    questions = [json.loads(line)["question"] for line in (REPO / "tests" / "eval" / "questions.jsonl").open()]
    fields = built._fields
    for question in [*questions, "", "the", "coo", "vp ops vs coo vs ops manager salary", "zorblax quux"]:
        query = built.analyzer.query(question)
        try:
            built._fields = fields
            at_once, hits = built._scores(query), built.retrieve(query, k=10)
            built._fields = None
            one_by_one, slow_hits = built._scores(query), built.retrieve(query, k=10)
        finally:
            built._fields = fields
        for x, y in zip(at_once[:3], one_by_one[:3], strict=True):
            assert np.array_equal(x.view(np.int32), y.view(np.int32)), question
        assert hits == slow_hits, question


@pytest.mark.parametrize("n_rows", [10_000, 6000, 50])  # sparse, sparse, dense (few rows)
def test_column_scoring_with_long_and_short_columns_is_exact(n_rows):
    """Sparse and nearly dense columns, all rows or a few: the same float32 sums."""
    rng = np.random.default_rng(1)
    n_terms = 40
    density = rng.choice([0.0005, 0.01, 0.3, 0.9], size=n_terms)
    dense = (rng.random((n_rows, n_terms)) < density) * rng.random((n_rows, n_terms))
    csr = sp.csr_matrix(dense.astype(np.float32))
    matrix = Postings.from_csr(csr)
    for _ in range(50):
        cols = np.sort(rng.choice(n_terms, size=rng.integers(1, 15), replace=False))
        weights = rng.random(len(cols)).astype(np.float32)
        vector = np.zeros(n_terms, dtype=np.float32)
        vector[cols] = weights
        got = matrix.dot(cols, weights)
        assert np.array_equal(got, csr @ vector)
        rows = rng.choice(n_rows, size=7, replace=False)
        assert np.array_equal(matrix.dot_rows(rows, cols, weights), got[rows])
        groups = np.sort(rng.integers(0, n_rows // 3, n_rows))
        best = np.zeros(n_rows // 3, dtype=np.float32)
        for row, group in enumerate(groups.tolist()):
            best[group] = max(best[group], got[row])
        assert np.array_equal(matrix.dot_max(cols, weights, groups, n_rows // 3), best)
        assert np.array_equal(matrix.dot_max(cols, weights, groups, n_rows // 3, matrix.entry_groups(groups)), best)
    assert (matrix._dense is not None) == (n_rows <= 512)


def test_top_k_are_the_ones_argpartition_picks():
    from bot.termmatrix import top_k

    rng = np.random.default_rng(4)
    for trial in range(300):
        n = int(rng.choice([10, 8191, 8192, 30_000]))
        values = rng.random(n).astype(np.float32)
        if trial % 3 == 0:  # mostly zeros, as for a question few passages match
            values[rng.random(n) < 0.97] = 0
        if trial % 3 == 1:  # many exact ties
            values = np.round(values * 20).astype(np.float32) / 20
        k = int(rng.integers(0, 12))
        expected = np.argpartition(-values, k - 1)[:k] if 0 < k < n else np.arange(min(k, n))
        assert sorted(top_k(values, k).tolist()) == sorted(expected.tolist())


def test_presence_is_the_union_of_text_and_headings(built):
    def csc(m: Postings):
        return sp.csc_matrix((m.data, m.indices, m.indptr), shape=(m.n_rows, m.n_terms))

    expected = ((csc(built.body_) + csc(built.context_)) > 0).astype(np.float32).tocsc()
    expected.sort_indices()
    presence = built._presence
    assert np.array_equal(presence.indptr, expected.indptr) and np.array_equal(presence.indices, expected.indices)


def test_loaded_index_scores_exactly_like_the_built_one(built, shared_knowledge):
    state, arrays = built.to_state()
    state = json.loads(json.dumps(state))  # through JSON, as on disk
    assert "indexed_terms" not in state["analyzer"]  # read from the vocabulary instead
    loaded = _retriever_for(shared_knowledge, Settings()).load_state(state, arrays)
    for question in ["what does a coo earn", "opertaions managr salary", "can one person be both VP Ops and COO",
                     "what is the best pizza topping"]:
        a, b = built.analyzer.query(question), loaded.analyzer.query(question)
        assert a == b
        for x, y in zip(built.score(a), loaded.score(b), strict=True):
            assert np.array_equal(x, y)
        assert [h.focus for h in built.retrieve(a)] == [h.focus for h in loaded.retrieve(b)]


def test_speller_picks_the_closest_then_the_most_used_word():
    speller = SpellingCorrector({"operations": 3, "manager": 2, "officer": 5, "office": 9, "offices": 1})
    assert speller.correct("manager") is None and speller.correct("ops") is None
    assert speller.correct("managr") == "manager"
    assert speller.correct("offic") == "office"  # one edit from "office"
    assert speller.correct("oficer") == "officer"
    assert speller.correct("opertaions") == "operations"  # a long word: two edits allowed


def test_a_short_typo_is_fixed_without_scikit_learn_or_nltk():
    # A word of up to eight letters is looked up among the words one edit away: no library needed.
    code = (
        "import sys; sys.modules['sklearn'] = sys.modules['nltk'] = None; "
        "from bot.analysis import SpellingCorrector; "
        "print(SpellingCorrector({'manager': 2, 'operations': 1}).correct('managr'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60,
                          check=True)
    assert done.stdout.strip() == "manager"


def test_stop_words_equal_scikit_learn():
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    assert frozenset(ENGLISH_STOP_WORDS) == _SKLEARN_STOP_WORDS


@pytest.mark.parametrize("question", ["what does a coo earn", "whats the weather in tokyo",
                                      "who develops the operational strategy",  # a form the articles lack
                                      "best pizza topping in napoli",
                                      "best pizza toppings",  # a common English word's stem
                                      "convert 50 fahrenheit to celsius",  # words that are their own stem
                                      "how do i center a div in css",
                                      "who negotiates the big deals"])  # a long word near known ones
def test_answering_from_a_saved_index_imports_neither_nltk_nor_scikit_learn(shared_knowledge, engine, question):
    engine.ask("what does a coo earn")  # the session's index exists on disk
    code = (
        "import sys; from bot.cli import main; "
        f"main(['ask', '--knowledge', {str(shared_knowledge)!r}, {question!r}]); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'nltk', 'sklearn', 'scipy', 'spellchecker'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60,
                          check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_unknown_words_left_unstemmed_change_no_score(built):
    """Questions whose unknown words stand for themselves score exactly as with their stems."""
    from bot.analysis import Query

    questions = ["whats the weather in tokyo", "best pizza topping in napoli", "coo salary in zurich francs",
                 "does the coo handle kubernetes clusters", "tokyo tokyos weathering", "ops manager vs quokka",
                 "vp of sales pay", "is the coo a wizard or a wizardess", "frobnicating the operations budget",
                 "hiring hirings toppings", "what does a ceo do on mars",
                 # made-up words ending like inflections, which only NLTK could stem
                 "the coo zorbles quokkas", "blorptastic frobnications", "does a vp of ops glimmerize"]
    left = 0
    for question in questions:
        unstemmed = built.analyzer._unstemmed_words(question)
        left += bool(unstemmed)
        fast, slow = built.analyzer.query(question), built.analyzer._query(question)
        same_but_terms = {f: getattr(fast, f) for f in Query.__dataclass_fields__ if f != "terms"}
        assert same_but_terms == {f: getattr(slow, f) for f in Query.__dataclass_fields__ if f != "terms"}
        assert [t for t in fast.terms if not set(t.split()) & set(unstemmed)] == \
            [t for t in slow.terms if not set(t.split()) & {stem(w) for w in unstemmed}]
        for x, y in zip(built.score(fast), built.score(slow), strict=True):
            assert np.array_equal(x, y)
        assert built.retrieve(fast) == built.retrieve(slow)
    assert left >= 3  # the shortcut was taken (how often depends on the vocabulary file's stems)


def test_edit_distance_pre_checks_never_miss_what_nltk_accepts():
    from nltk.metrics.distance import edit_distance

    from bot.analysis import _may_be_within, _one_edit

    rng = random.Random(7)
    for _ in range(20_000):
        a = "".join(rng.choice("abcd") for _ in range(rng.randint(1, 7)))
        b = a[0] + "".join(rng.choice("abcd") for _ in range(rng.randint(0, 7)))
        if a == b:
            continue
        dist = edit_distance(a, b, transpositions=True)
        assert (b in set(_one_edit(a, "abcd"))) == (dist <= 1), (a, b)  # exactly the words one edit away
        if dist <= 2:
            assert _may_be_within(a, b, 2), (a, b)


def test_edit_distance_is_nltks():
    from nltk.metrics.distance import edit_distance as nltk_edit_distance

    from bot.analysis import edit_distance

    rng = random.Random(11)
    for _ in range(20_000):
        a = "".join(rng.choice("abcde") for _ in range(rng.randint(0, 9)))
        b = list(a)
        for _ in range(rng.randint(0, 4)):  # a few deletions, insertions, substitutions, swaps
            i = rng.randint(0, len(b))
            edit = rng.randrange(4)
            if edit == 0 and i < len(b):
                del b[i]
            elif edit == 1:
                b.insert(i, rng.choice("abcdef"))
            elif edit == 2 and i < len(b):
                b[i] = rng.choice("abcdef")
            elif edit == 3 and i + 1 < len(b):
                b[i], b[i + 1] = b[i + 1], b[i]
        b = "".join(b)
        assert edit_distance(a, b) == nltk_edit_distance(a, b, transpositions=True), (a, b)


def test_speller_without_a_near_word_finds_nothing():
    speller = SpellingCorrector({"operations": 3, "manager": 2, "whether": 1})
    for word in ("weather", "tokyo", "kubernetes", "xperations"):  # "weather": two edits, short word
        assert speller.correct(word) is None
    assert speller.correct("operatons") == "operations"


def test_speller_matches_nltk_edit_distance(built):
    """The corrections are those a scan of every known word with NLTK's edit distance gives:
    typos of the known words and words that merely look alike."""
    from nltk.metrics.distance import edit_distance

    speller = built.analyzer.speller
    rng = random.Random(3)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = set()
    for known in rng.sample(speller.known, 150):
        for _ in range(3):
            i = rng.randrange(len(known))
            words.add(rng.choice([known[:i] + rng.choice(letters) + known[i + 1:], known[:i] + known[i + 1:],
                                  known[:i] + rng.choice(letters) + known[i:], known[:i] + known[i + 1:i + 2]
                                  + known[i:i + 1] + known[i + 2:], known[::-1]]))
    words = {w for w in words if w not in speller and len(w) >= speller.min_length}
    assert len(words) > 200
    for word in sorted(words):
        limit = 1 if len(word) <= 8 else 2
        scored = [(d, -speller.counts[c], c) for c in speller.known
                  if c[0] == word[0] and abs(len(c) - len(word)) <= limit
                  and (d := edit_distance(word, c, transpositions=True)) <= limit]
        assert speller.correct(word) == (min(scored)[2] if scored else None), word
