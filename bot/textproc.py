"""Text processing: normalising, sentence splitting, tokenising and stemming.

Only NLTK parts that need no downloaded data are used (regexp tokenizer, Snowball stemmer, an
untrained Punkt splitter with our own abbreviation list), so faqbot runs with no ``nltk_data``.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from nltk.stem.snowball import SnowballStemmer
from nltk.tokenize import RegexpTokenizer
from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

# Words scikit-learn counts as stop words that carry meaning in questions about jobs
# ("can they fire people", "top of the hierarchy", "more senior", "operations as a whole").
_KEEP = {
    "fire", "system", "top", "more", "less", "most", "least", "whole", "first", "part", "bottom",
    "interest", "call", "find", "found", "full", "amount", "serious", "back", "side", "show", "move",
    "detail", "describe", "put", "name", "keep", "together", "alone", "two",
}
STOP_WORDS: frozenset[str] = frozenset((set(ENGLISH_STOP_WORDS) - _KEEP) | {
    "does", "did", "doing", "s", "t", "d", "ll", "m", "ve", "re", "don", "doesn", "isn", "aren", "im",
    "whats", "thing", "things", "typically", "usually", "generally", "somebody",
})

# Characters that should not change what a word means: zero-width and direction marks.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                                    "\u2066\u2067\u2068\u2069\u00ad"))
_PUNCT_MAP = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "•": " "})

# British -ise/-isation spellings folded to -ize ("organisation" -> "organization").
_BRITISH = re.compile(r"\b(organ|special|optim|priorit|util|minim|maxim|standard|central|real|recogn|emphas|summar|"
                      r"author|categor|stabil|capital|modern|global|final|visual|character)is(?=e|ation|ing)")
_THOUSANDS = re.compile(r"\b(\d{1,3})k\b")
_TOKENIZER = RegexpTokenizer(r"[a-z0-9_]+|\$+")
_STEMMER = SnowballStemmer("english")


def normalize(text: str) -> str:
    """Lower-case, NFKC-fold and strip invisible characters, so look-alikes compare equal."""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE).translate(_PUNCT_MAP)
    text = _BRITISH.sub(r"\1iz", " ".join(text.lower().split()))
    return _THOUSANDS.sub(r"\1,000", text)  # "400k" is written "400,000" in articles


def words(text: str) -> list[str]:
    """Raw word tokens of already normalised text (no stemming, no stop word removal)."""
    return _TOKENIZER.tokenize(text)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Snowball stem; multi-word terms joined by ``_`` (roles) and ``$`` are kept whole."""
    if "_" in word or word.startswith("$") or word.isdigit():
        return word
    return _STEMMER.stem(word)


def content_terms(text: str) -> list[str]:
    """Stemmed content words of normalised text: what the TF-IDF vectoriser counts."""
    return [stem(w) for w in words(text) if w not in STOP_WORDS and (len(w) > 1 or w.startswith("$"))]


_PUNKT_PARAMS = PunktParameters()
_PUNKT_PARAMS.abbrev_types = {
    "vs", "e.g", "i.e", "etc", "inc", "ltd", "co", "corp", "u.s", "u.k", "mr", "mrs", "ms", "dr", "jr",
    "sr", "st", "no", "approx", "dept", "est", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
    "sept", "oct", "nov", "dec",
}
_SENTENCES = PunktSentenceTokenizer(_PUNKT_PARAMS)


def sentences(text: str) -> list[str]:
    """Split one line of prose into sentences (Punkt, with a fixed abbreviation list)."""
    text = text.strip()
    if not text:
        return []
    return [s for s in _SENTENCES.tokenize(text) if s.strip()]


_FINAL_PUNCT = re.compile(r"[.!?:;,]$")


def ends_sentence(line: str) -> bool:
    """True when a line ends like a sentence or clause (used to tell headings from prose)."""
    return bool(_FINAL_PUNCT.search(line.rstrip()))
