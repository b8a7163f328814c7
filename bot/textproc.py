"""Text processing: normalising, sentence splitting, tokenising and stemming.

Only NLTK parts that need no downloaded data are used (an untrained Punkt splitter with our own
abbreviation list, and NLTK's Snowball stemmer), so faqbot runs with no ``nltk_data``.

Importing NLTK takes over a second, far more than answering a question, so it is imported on
first use: an index records the stem of every word it has seen (``stem_table``) and of common
English words, and a process that loads it (``remember_stems``) stems the words of most questions
without NLTK at all. Words ending in none of Snowball's suffixes are their own stems
(``_own_stem``); of the other words it has not seen, those whose stem cannot matter are not
stemmed (``words_as_stems``).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from bisect import bisect_left
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

# scikit-learn's English stop word list (``ENGLISH_STOP_WORDS``, checked equal in the tests),
# copied because importing it loads scikit-learn, ~0.7 s of a cold ``faqbot ask``.
_SKLEARN_STOP_TEXT = """
a about above across after afterwards again against all almost alone along already also although always am
among amongst amoungst amount an and another any anyhow anyone anything anyway anywhere are around as at back
be became because become becomes becoming been before beforehand behind being below beside besides between
beyond bill both bottom but by call can cannot cant co con could couldnt cry de describe detail do done down
due during each eg eight either eleven else elsewhere empty enough etc even ever every everyone everything
everywhere except few fifteen fifty fill find fire first five for former formerly forty found four from front
full further get give go had has hasnt have he hence her here hereafter hereby herein hereupon hers herself
him himself his how however hundred i ie if in inc indeed interest into is it its itself keep last latter
latterly least less ltd made many may me meanwhile might mill mine more moreover most mostly move much must my
myself name namely neither never nevertheless next nine no nobody none noone nor not nothing now nowhere of
off often on once one only onto or other others otherwise our ours ourselves out over own part per perhaps
please put rather re same see seem seemed seeming seems serious several she should show side since sincere six
sixty so some somehow someone something sometime sometimes somewhere still such system take ten than that the
their them themselves then thence there thereafter thereby therefore therein thereupon these they thick thin
third this those though three through throughout thru thus to together too top toward towards twelve twenty
two un under until up upon us very via was we well were what whatever when whence whenever where whereafter
whereas whereby wherein whereupon wherever whether which while whither who whoever whole whom whose why will
with within without would yet you your yours yourself yourselves
"""
_SKLEARN_STOP_WORDS = frozenset(_SKLEARN_STOP_TEXT.split())

# Words scikit-learn counts as stop words that carry meaning in questions about jobs
# ("can they fire people", "top of the hierarchy", "more senior", "operations as a whole").
_KEEP = {
    "fire", "system", "top", "more", "less", "most", "least", "whole", "first", "part", "bottom",
    "interest", "call", "find", "found", "full", "amount", "serious", "back", "side", "show", "move",
    "detail", "describe", "put", "name", "keep", "together", "alone", "two",
}
STOP_WORDS: frozenset[str] = frozenset((_SKLEARN_STOP_WORDS - _KEEP) | {
    "does", "did", "doing", "s", "t", "d", "ll", "m", "ve", "re", "don", "doesn", "isn", "aren", "im",
    "whats", "hows", "whos", "whys", "wheres", "whens",  # "hows that diff from a coo"
    "thing", "things", "typically", "usually", "generally", "somebody",
})

# Characters that should not change what a word means: zero-width and direction marks.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                                    "\u2066\u2067\u2068\u2069\u00ad"))
_PUNCT = {"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "•": " "}
_PUNCT_MAP = str.maketrans(_PUNCT)
# The same two mappings as regular expressions: str.translate looks every character of a
# non-ASCII text up in a dict (~0.2 ms per passage, half of building an index), re finds the few.
_INVISIBLE_RE = re.compile("[" + "".join(map(chr, _INVISIBLE)) + "]")
_PUNCT_RE = re.compile("[" + "".join(_PUNCT) + "]")

# British -ise/-isation spellings folded to -ize ("organisation" -> "organization").
_BRITISH = re.compile(r"\b(organ|special|optim|priorit|util|minim|maxim|standard|central|real|recogn|emphas|summar|"
                      r"author|categor|stabil|capital|modern|global|final|visual|character)is(?=e|ation|ing)")
_THOUSANDS = re.compile(r"\b(\d{1,3})k\b")
_DIGIT_K = re.compile(r"\dk")  # in every match of _THOUSANDS; starts with a class re scans for quickly
# What NLTK's RegexpTokenizer(pattern) did: findall with the same pattern.
_TOKENS = re.compile(r"[a-z0-9_]+|\$+")


_SLASHED_WORDS = {"w/": "with ", "w/o": "without", "b/c": "because", "b/w": "between"}
_SLASHED = re.compile(r"(?<![\w/])(?:w/o|b/c|b/w)(?![\w/])|(?<![\w/])w/(?!o\b)")


def normalize(text: str) -> str:
    """Lower-case, NFKC-fold and strip invisible characters, so look-alikes compare equal."""
    if not text.isascii():  # NFKC and both mappings leave ASCII text as it is
        text = _INVISIBLE_RE.sub("", unicodedata.normalize("NFKC", text))
        text = _PUNCT_RE.sub(lambda m: _PUNCT[m.group(0)], text)
    text = " ".join(text.lower().split())
    # Each substitution only when what it needs is there: re cannot skip ahead to a match of a
    # pattern starting with \b, and these two scans were a fifth of analysing a passage.
    if "ise" in text or "ising" in text or "isation" in text:
        text = _BRITISH.sub(r"\1iz", text)
    if "/" in text:  # chat shorthand: "works w/ the ceo", "w/o a degree", "b/c"
        text = " ".join(_SLASHED.sub(lambda m: _SLASHED_WORDS[m.group(0)], text).split())
    if _DIGIT_K.search(text):
        text = _THOUSANDS.sub(r"\1,000", text)  # "400k" is written "400,000" in articles
    return text


def words(text: str) -> list[str]:
    """Raw word tokens of already normalised text (no stemming, no stop word removal)."""
    return _TOKENS.findall(text)


def clause_starts(text: str) -> set[int]:
    """Indices (into ``words(text)``) of the words that open a clause: after a comma, a stop, a
    colon, a bracket or a dash standing alone ("on a daily basis - managers and supervisors")."""
    starts, end = set(), 0
    for i, match in enumerate(_TOKENS.finditer(text)):
        if i and _CLAUSE_GAP.search(text, end, match.start()):
            starts.add(i)
        end = match.end()
    return starts


_CLAUSE_GAP = re.compile(r"[,;:.!?()]|\s[-–—]+\s")
_STEMS: dict[str, str] = {}  # word -> Snowball stem: what this process has stemmed or loaded
_MAX_STEMS = 500_000  # a long-running bot meets ever new words: stay bounded
# Common English words' stems (``common_english_stems``) from the index loaded last, packed as it
# stores them, and unpacked the first time a word's stem is not in ``_STEMS``: most questions
# never need them, and unpacking takes longer than the rest of loading the bundled index.
_PACKED: str | None = None
_COMMON: dict[str, str] = {}
_PACKED_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    from nltk.stem.snowball import SnowballStemmer

    return SnowballStemmer("english")


# Words that stand for themselves in this thread (or task) for now: see ``words_as_stems``.
_AS_THEMSELVES: ContextVar[frozenset[str]] = ContextVar("faqbot_words_as_stems", default=frozenset())


# The endings at which NLTK's Snowball (English) stemmer changes a word: its steps' suffixes,
# step 1c's "y", step 5's "e" and "ll", and "s" except after "u" or "s" (step 1a leaves "us" and
# "ss" alone). Each step changes a word only at one of these endings, so a (lower-case) word of
# more than two letters ending in none of them ("celsius", "python", "generalist") is its own stem:
# no need to ask NLTK (checked against it in tests/test_textproc.py).
_SNOWBALL_ENDINGS = (
    "sses", "ied", "ies", "ed", "ing", "y",
    "ization", "ational", "fulness", "ousness", "iveness", "tional", "biliti", "lessli", "entli", "ation",
    "alism", "aliti", "ousli", "iviti", "fulli", "enci", "anci", "abli", "izer", "ator", "alli", "bli", "ogi",
    "li", "alize", "icate", "iciti", "ative", "ical", "ness", "ful", "ement", "ance", "ence", "able", "ible",
    "ment", "ant", "ent", "ism", "ate", "iti", "ous", "ive", "ize", "ion", "al", "er", "ic", "e", "ll",
)


def _kept_whole(word: str) -> bool:
    """Roles ("role_coo"), amounts and numbers are terms as they are, never stemmed."""
    return "_" in word or word.startswith("$") or word.isdigit()


def _own_stem(word: str) -> bool:
    """True when Snowball would return ``word`` as it is: a lower-case word it leaves alone (see
    ``_SNOWBALL_ENDINGS``; it keeps words of up to two letters whole)."""
    if not word.islower() or "'" in word:
        return False
    return len(word) <= 2 or not (word.endswith(_SNOWBALL_ENDINGS)
                                  or (word.endswith("s") and not word.endswith(("us", "ss"))))


def _common_stem(word: str) -> str | None:
    """The stem of a common English word recorded by the index loaded last, if it is one."""
    global _PACKED
    if _PACKED is not None:
        with _PACKED_LOCK:
            if _PACKED is not None:
                parts = _PACKED.split(" ")
                _COMMON.update(zip(parts[::2], parts[1::2], strict=True))
                _PACKED = None
    return _COMMON.get(word)


# Bumped when the same text comes to be analysed into other terms (as with ``_IRREGULAR``) or cut
# into other passages: an index records this, and one built by an older analysis is rebuilt
# rather than half-used.
ANALYSIS_VERSION = 11

# Word forms Snowball leaves as they are, stemmed as the word they are a form of: irregular past
# forms of verbs ("can be found in" never met "where would i find", nor "led by" "who leads") and
# comparatives ("in smaller organizations" answers "at a small company"). Only forms that are seldom
# anything else ("saw", "rose", "left", "fell" are left out; "better" and "best" too: "good" is no match).
_IRREGULAR = {form: base for base, forms in (
    ("arise", "arose arisen"), ("become", "became"), ("begin", "began begun"), ("bring", "brought"),
    ("build", "built"), ("buy", "bought"), ("catch", "caught"), ("choose", "chose chosen"), ("draw", "drew drawn"),
    ("drive", "drove driven"), ("fight", "fought"), ("find", "found"), ("forget", "forgot forgotten"),
    ("give", "gave given"), ("grow", "grew grown"), ("hear", "heard"), ("hold", "held"), ("keep", "kept"),
    ("know", "knew"), ("lead", "led"), ("lend", "lent"), ("lose", "lost"), ("make", "made"), ("mean", "meant"),
    ("meet", "met"), ("oversee", "oversaw overseen"), ("pay", "paid"), ("rise", "risen"), ("seek", "sought"),
    ("sell", "sold"), ("send", "sent"), ("speak", "spoke spoken"), ("spend", "spent"), ("stand", "stood"),
    ("take", "took taken"), ("teach", "taught"), ("tell", "told"), ("think", "thought"), ("throw", "threw thrown"),
    ("undertake", "undertook undertaken"), ("understand", "understood"), ("wear", "wore worn"), ("win", "won"),
    ("write", "wrote written"),
    ("small", "smaller smallest"), ("large", "larger largest"), ("big", "bigger biggest"),
    ("high", "higher highest"), ("low", "lower lowest"), ("great", "greater greatest"),
    ("broad", "broader broadest"), ("wide", "wider widest"), ("long", "longer longest"),
    ("strong", "stronger strongest"), ("deep", "deeper deepest"), ("narrow", "narrower narrowest"),
    ("old", "older oldest"), ("new", "newer newest"), ("fast", "faster fastest"),
) for form in forms.split()}


# Adjectives that mean something else than the word Snowball gives them: "a skilled vp" is a good
# one, not one with skills to list ("what skills does a vp need" is not answered by it).
_ADJECTIVES = frozenset({"skilled"})


def stem(word: str) -> str:
    """Snowball stem (of the base word, for an irregular past form or a comparative, see
    ``_IRREGULAR``); multi-word terms joined by ``_`` (roles) and ``$`` are kept whole."""
    found = _STEMS.get(word)
    if found is not None:
        return found
    if _kept_whole(word) or word in _ADJECTIVES:
        return word
    verb = _IRREGULAR.get(word)
    if verb is not None:
        found = stem(verb)
    else:
        found = word if _own_stem(word) else _common_stem(word)
    if found is None:
        if word in _AS_THEMSELVES.get():
            return word  # not remembered: only true stems go into the table (and into an index)
        found = _stemmer().stem(word)
    if len(_STEMS) < _MAX_STEMS:
        _STEMS[word] = found
    return found


def needs_stemmer(word: str) -> bool:
    """True when ``stem(word)`` would have to ask NLTK (the word's stem is not known yet)."""
    if word in _IRREGULAR:
        return needs_stemmer(_IRREGULAR[word])
    return word not in _STEMS and not _kept_whole(word) and not _own_stem(word) and _common_stem(word) is None


# What Snowball (English) can put after the part of a word it keeps, and which letter of the
# word that part must be followed by for it: it only ever removes endings, or replaces a letter or
# two ("happy" -> "happi": y; "possibility" -> "possibl": i; "coring" -> "core", "dictator" ->
# "dictate", "organization" -> "organize": i, o, a; "dying" -> "die", "skies" -> "sky"). Checked
# against NLTK on every word of the bundled texts, pyspellchecker's list and hundreds of thousands
# of made-up words with chains of its suffixes (tests/test_textproc.py).
STEM_ENDINGS = {"e": "aio", "i": "y", "l": "i", "le": "i", "ie": "y", "y": "i"}


def possible_stems(word: str) -> set[str]:
    """Every string the Snowball stem of ``word`` could be: a start of the word (its first letter
    at least), as it is or with one of ``STEM_ENDINGS`` in place of the rest."""
    found = {word[:m] for m in range(1, len(word) + 1)}
    found.update(word[:m] + ending for m in range(1, len(word)) for ending, replaced in STEM_ENDINGS.items()
                 if word[m] in replaced)
    return found


@contextmanager
def words_as_stems(found: Iterable[str]) -> Iterator[None]:
    """Within this block (in this thread or task), ``stem`` returns each of these words as it is,
    without asking NLTK; their stems are not remembered.

    For words whose stem cannot matter: a question's words whose every ``possible_stems`` is
    neither an indexed term nor a possible stem of the question's other words would, stemmed,
    match nothing and equal nothing, exactly as they do unstemmed (see ``Analyzer.query``).
    Importing NLTK to stem them would cost a cold start over a second.
    """
    token = _AS_THEMSELVES.set(frozenset(found))
    try:
        yield
    finally:
        _AS_THEMSELVES.reset(token)


_ENGLISH: dict[str, int] | None = None
_ENGLISH_LOCK = threading.Lock()


def _english() -> dict[str, int]:
    """pyspellchecker's English word frequency list (about 0.2 s to load, on first use)."""
    global _ENGLISH
    with _ENGLISH_LOCK:
        if _ENGLISH is None:
            from spellchecker import SpellChecker

            _ENGLISH = SpellChecker(language="en", distance=1).word_frequency.dictionary
    return _ENGLISH


def english_count(word: str) -> int:
    """How often ``word`` occurs in pyspellchecker's English frequency list (0: not a word)."""
    return int(_english().get(word, 0))


# How common the words of pyspellchecker's list are, recorded by the index loaded last: count
# steps (descending) -> their words, packed as ``english_words`` makes them; unpacked when first
# needed into (the steps, word -> the step it reaches).
_PACKED_WORDS: dict[int, str] | None = None
_WORD_STEPS: tuple[tuple[int, ...], dict[str, int]] = ((), {})


def english_words(steps: Sequence[int]) -> dict[int, str]:
    """For each count of ``steps`` (descending), the lower-case words of pyspellchecker's list
    that reach it but not the step before, joined by spaces: what an index records so that
    ``english_count_at_least`` needs no list (which takes a seventh of a second to load)."""
    found: dict[int, list[str]] = {step: [] for step in steps}
    for word, count in _english().items():
        step = next((step for step in steps if count >= step), None)
        if step is not None and word.isascii() and word.isalpha() and word.islower():
            found[step].append(word)
    return {step: " ".join(sorted(words_)) for step, words_ in found.items()}


def remember_english(packed: Mapping[int, str]) -> None:
    """Take what ``english_words`` packed (for the index just loaded) as how common words are."""
    global _PACKED_WORDS
    if not all(isinstance(step, int) and isinstance(words_, str) for step, words_ in packed.items()):
        raise ValueError("English words are not packed by count")
    with _PACKED_LOCK:
        _PACKED_WORDS = dict(packed) or None


def english_count_at_least(word: str, steps: Sequence[int]) -> int:
    """The largest of ``steps`` (descending) that ``word``'s count in pyspellchecker's English
    list reaches, else 0: from what the index loaded last recorded for these steps, if it did."""
    global _PACKED_WORDS, _WORD_STEPS
    if _PACKED_WORDS is not None:
        with _PACKED_LOCK:
            if _PACKED_WORDS is not None:
                reached = {w: step for step, packed in _PACKED_WORDS.items() for w in packed.split()}
                _WORD_STEPS = (tuple(sorted(_PACKED_WORDS, reverse=True)), reached)
                _PACKED_WORDS = None
    recorded_steps, reached = _WORD_STEPS
    if recorded_steps == tuple(steps) and word.isascii() and word.isalpha() and word.islower():
        return reached.get(word, 0)
    count = english_count(word)
    return next((step for step in steps if count >= step), 0)


def common_english_stems(min_count: int = 100, near: Collection[str] = (),
                         known: Mapping[str, str] | None = None) -> dict[str, str]:
    """``{word: stem}`` for the common English words (pyspellchecker's list) not stemmed yet,
    but for those that are their own stem anyway (``_own_stem``), and for the rarer words of
    the list that may stem to one of ``near`` (an index's terms; see ``possible_stems``).

    Questions use words the articles don't ("develops" where they say "developing", "toppings"):
    an index recording their stems lets a process that loads it answer such questions without
    importing NLTK (over a second of a cold start). About 33,000 common words (of 44,000 used at
    least 100 times) and a few thousand rarer ones ("employes"), stemmed in half a second when an
    index is built; the stems of the other rare words cannot matter (``words_as_stems``).
    ``known``: stems worked out before with the same libraries (the index being rebuilt recorded
    them), taken instead of asking NLTK again: most of a rebuild's time otherwise.
    """
    known = known or {}
    stemmer = _stemmer()
    rare: list[str] = []
    found: dict[str, str] = {}
    for word, count in _english().items():
        if word.isalpha() and word not in _STEMS and not _own_stem(word):
            if count >= min_count:
                found[word] = known.get(word) or stemmer.stem(word)
            else:
                rare.append(word)
    found.update((word, known.get(word) or stemmer.stem(word)) for word in sorted(_may_stem_to(sorted(rare), near)))
    return found


def _may_stem_to(ordered: Sequence[str], stems: Iterable[str]) -> set[str]:
    """The words of ``ordered`` (sorted) that one of ``stems`` is a possible stem of: the same as
    testing ``possible_stems`` of each, found by looking up the words starting as a stem does."""
    found: set[str] = set()
    for target in stems:
        starts = [(target, "")] + [(target[:-len(ending)], replaced) for ending, replaced in STEM_ENDINGS.items()
                                   if target.endswith(ending) and len(target) > len(ending)]
        for start, replaced in starts:
            for i in range(bisect_left(ordered, start), len(ordered)):
                word = ordered[i]
                if not word.startswith(start):
                    break
                if not replaced or (len(word) > len(start) and word[len(start)] in replaced):
                    found.add(word)
    return found


def pack_stems(table: Mapping[str, str]) -> str:
    """A stem table as one string, "word stem word stem ...": parsed from JSON in a tenth of the
    time of a dict (see ``remember_stems``)."""
    return " ".join(f"{word} {found}" for word, found in table.items())


def stem_table() -> dict[str, str]:
    """``{word: stem}`` for every word stemmed so far: after building an index, the words of its
    texts and vocabulary (for the index to record; see ``remember_stems``)."""
    return dict(sorted(_STEMS.items()))


def remember_stems(table: Mapping[str, str], packed: str = "") -> None:
    """Take stems worked out before (by ``stem``, maybe in another process) as known, and the
    common English words' stems ``packed`` by ``pack_stems`` (unpacked when first needed, in place
    of those of the index loaded before)."""
    global _PACKED
    if not all(isinstance(w, str) and isinstance(t, str) and t for w, t in table.items()):
        raise ValueError("a stem table maps words to non-empty stems")
    # Pairs of non-empty words joined by single spaces: an odd number of spaces, none doubled.
    if not isinstance(packed, str) or (packed and (packed.count(" ") % 2 == 0 or "  " in packed
                                                   or packed.startswith(" ") or packed.endswith(" "))):
        raise ValueError("packed stems are not pairs of words")
    room = _MAX_STEMS - len(_STEMS)
    if room > 0:
        _STEMS.update(table if len(table) <= room else dict(list(table.items())[:room]))
    with _PACKED_LOCK:
        _PACKED = packed or None


def is_content_word(word: str) -> bool:
    """True for a word ``content_terms`` keeps (stemmed): no stop word, no single letter."""
    return word not in STOP_WORDS and (len(word) > 1 or word.startswith("$"))


class _TermOf(dict):
    """word -> the term it counts as (None: a stop word or a single letter), worked out once per
    distinct word: a dict lookup per word instead of a filter and a stem call (a tenth of
    building a large index)."""

    def __missing__(self, word: str) -> str | None:
        if len(self) > 500_000:  # a long-running bot meets ever new words: stay bounded
            self.clear()
        term = stem(word) if is_content_word(word) else None
        if word in _AS_THEMSELVES.get() and word not in _STEMS:  # for now only (``words_as_stems``)
            return term
        self[word] = term
        return term


_TERM_OF = _TermOf()


# Discourse markers whose words mean nothing of their own: "on the other hand" is no hand.
_MARKERS = re.compile(r"\bon the other hand\b|\bon one hand\b|\bon the one hand\b")


def content_terms(text: str) -> list[str]:
    """Stemmed content words of normalised text: what the TF-IDF vectoriser counts."""
    if "hand" in text:
        text = _MARKERS.sub(" ", text)
    return [t for t in map(_TERM_OF.__getitem__, words(text)) if t is not None]


_ABBREVIATIONS = {
    "vs", "e.g", "i.e", "etc", "inc", "ltd", "co", "corp", "u.s", "u.k", "mr", "mrs", "ms", "dr", "jr",
    "sr", "st", "no", "approx", "dept", "est", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
    "sept", "oct", "nov", "dec",
}


@lru_cache(maxsize=1)
def _sentence_splitter() -> Any:
    """Punkt, imported on first use: only building an index splits sentences, and importing NLTK
    costs over a second that answering a question from a saved index need not pay."""
    from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

    class Splitter(PunktSentenceTokenizer):
        """Punkt remembering its verdict per candidate break. The verdict depends only on the
        few words around a period (and the fixed parameters), which repeat across a collection:
        working them out again was a fifth of building a large index."""

        def __init__(self, params: PunktParameters) -> None:
            super().__init__(params)
            self._verdicts: dict[str, bool] = {}

        def text_contains_sentbreak(self, text: str) -> bool:
            verdict = self._verdicts.get(text)
            if verdict is None:
                if len(self._verdicts) > 200_000:
                    self._verdicts.clear()
                verdict = self._verdicts[text] = super().text_contains_sentbreak(text)
            return verdict

    params = PunktParameters()
    params.abbrev_types = set(_ABBREVIATIONS)
    return Splitter(params)


# Punkt breaks only after one of its sentence-ending characters with more text after it.
_BREAK_CANDIDATE = re.compile(r"[.?!].", re.DOTALL)


def sentences(text: str) -> list[str]:
    """Split one line of prose into sentences (Punkt, with a fixed abbreviation list)."""
    text = text.strip()
    if not text:
        return []
    if not _BREAK_CANDIDATE.search(text):  # headings, list items, one sentence: nothing to ask Punkt
        return [text]
    return [s for s in _sentence_splitter().tokenize(text) if s.strip()]


_FINAL_PUNCT = re.compile(r"[.!?:;,]$")


def ends_sentence(line: str) -> bool:
    """True when a line ends like a sentence or clause (used to tell headings from prose)."""
    return bool(_FINAL_PUNCT.search(line.rstrip()))


def pack(pieces: Iterable[str], limit: int, sep: str) -> list[str]:
    """Pieces joined with ``sep`` into as few chunks of at most ``limit`` characters as keeps
    their order (greedy); a piece longer than ``limit`` stays a chunk of its own."""
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        if current and len(current) + len(sep) + len(piece) > limit:
            chunks.append(current)
            current = piece
        else:
            current = f"{current}{sep}{piece}" if current else piece
    if current:
        chunks.append(current)
    return chunks


# An article's lead-in announces what comes; it answers nothing itself.
_PREAMBLE = re.compile(
    r"\b(?:in this (?:article|post|guide)|this article|we (?:will|aim|hope)|let(?:'|’)s|join us|delve|"
    r"shed(?:ding)? light|a common question|here are (?:the|some)|read on|"
    r"it(?:'|’)s (?:important|essential|crucial) to understand|there are (?:also )?(?:some|several|many|key|"
    r"notable|distinct) (?:key |general |notable )?(?:differences|distinctions|traits|factors|aspects)|"
    r"understanding (?:the|these) (?:key )?(?:differences|distinctions|nuances))\b",
    re.IGNORECASE,
)


def is_preamble(text: str, split: Callable[[str], list[str]] = sentences) -> bool:
    """True for a passage that mostly announces what comes ("In this article, we will ...")."""
    # Sentences and lines are parts of the text, cut at spaces or punctuation: no announcement in
    # the whole text, none in a part (most passages; splitting them into sentences cost more).
    if not _PREAMBLE.search(text):
        return False
    # Headings and table rows don't end like sentences; only prose can announce.
    units = [s for line in text.split("\n") for s in split(line) if s.rstrip().endswith((".", "!", "?", ":"))]
    return bool(units) and sum(bool(_PREAMBLE.search(u)) for u in units) * 2 >= len(units)
