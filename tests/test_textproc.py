"""Text processing: normalising, tokenising, stemming, sentences; the vocabulary file; question analysis."""

from __future__ import annotations

import pytest
from conftest import KNOWLEDGE, write

from bot.analysis import Analyzer, SpellingCorrector, with_bigrams
from bot.textproc import (
    STOP_WORDS,
    _stemmer,
    clause_starts,
    content_terms,
    ends_sentence,
    normalize,
    possible_stems,
    sentences,
    stem,
    words,
)
from bot.vocabulary import Vocabulary, VocabularyError, phrase_pattern, role_token


# -- normalising ------------------------------------------------------------------------------
def test_normalize_lowercases_and_collapses_whitespace():
    assert normalize("  What   does\ta\nCOO   do? ") == "what does a coo do?"


@pytest.mark.parametrize(("text", "normal"), [
    ("COO works w/ the CEO", "coo works with the ceo"), ("w/o a degree", "without a degree"),
    ("b/c they lead", "because they lead"), ("w/the cfo", "with the cfo"),
    ("and/or", "and/or"), ("see example.com/w/o", "see example.com/w/o"),  # no shorthand inside a word or path
])
def test_normalize_spells_out_chat_shorthand(text, normal):
    assert normalize(text) == normal


def test_normalize_folds_lookalikes_and_strips_invisible_characters():
    assert normalize("Ｃｈｉｅｆ") == "chief"  # full-width letters (NFKC)
    assert normalize("co\u200bo") == "coo"  # zero-width space
    assert normalize("oper\u00adations") == "operations"  # soft hyphen
    assert normalize("\ufeffCOO") == "coo"  # BOM
    assert normalize("the COO’s “role” – now") == "the coo's \"role\" - now"


def test_normalize_bullets_are_not_words():
    assert words(normalize("• Yes, they can.")) == ["yes", "they", "can"]


def test_words_keeps_digits_and_dollar_signs():
    assert words("a vp earns $150,000 in 2024") == ["a", "vp", "earns", "$", "150", "000", "in", "2024"]
    assert "role_vp_of_operations" in words("the role_vp_of_operations salary")


# -- stemming and content terms -----------------------------------------------------------------
def test_stem_conflates_word_forms():
    assert stem("manages") == stem("managing") == stem("managed")
    assert stem("responsibilities") == stem("responsibility")
    assert stem("operations") == stem("operation")


def test_stem_keeps_role_terms_numbers_and_dollars_whole():
    assert stem("role_vp_of_operations") == "role_vp_of_operations"
    assert stem("$$") == "$$"
    assert stem("2024") == "2024"


_ENDINGS = ("sses ied ies us ss s eedly ingly edly eed ing ed y ational tional enci anci abli entli izer "
            "ization ation ator alism aliti alli fulness ousli ousness iveness iviti biliti bli ogi fulli "
            "lessli li alize icate iciti ative ical ness ful ement ance ence able ible ment ant ent ism ate "
            "iti ous ive ize ion al er ic e l ly ity ically ability ibility fully ously ivity ency ably ogy "
            "ally izations ionally ll eding ying yed yes ey ay oy")


def _suffixed_words(count: int, seed: int = 0) -> set[str]:
    """Made-up words: a random start, then up to three of Snowball's suffixes and other endings."""
    import random

    endings = _ENDINGS.split()
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz0123456789"
    found = set()
    while len(found) < count:
        word = "".join(rng.choice(letters if rng.random() < 0.6 else "aeiouy") for _ in range(rng.randint(0, 7)))
        word += "".join(rng.choice(endings) for _ in range(rng.randint(0, 3)))
        if word:
            found.add(word)
    for special in ("gener", "commun", "arsen", "ski", "sky", "dy", "ly", "ty", "idl", "gentl", "ugl", "earl",
                    "onl", "singl", "inning", "outing", "canning", "herring", "earring", "proceed", "exceed"):
        found.update(special + e for e in ("", "s", "ies", "ing", "ings", "ed", "y", "ly", "e"))
    return found


def test_possible_stems_hold_nltk_stems():
    """What ``words_as_stems`` relies on: a Snowball stem is a start of its word, as it is or with
    one of ``STEM_ENDINGS`` in place of the rest."""
    from bot.textproc import _english

    found = set(words(normalize(" ".join(p.read_text(encoding="utf-8") for p in KNOWLEDGE.glob("*.md")))))
    found |= {w for w in _english() if w.isascii() and w.isalnum() and w.islower()}
    found |= {"dictator", "organizations", "possibility", "sensibly", "dying", "skies", "happy", "coring"}
    for word in sorted(found | _suffixed_words(60_000)):
        assert _stemmer().stem(word) in possible_stems(word), word


def test_possible_stems_replace_only_the_letters_snowball_replaces():
    """"plateaued" cannot stem to "play" (an indexed term): Snowball turns no "t" into "y"."""
    assert "play" not in possible_stems("plateaued")
    assert {"plateau", "plate", "happi", "possibl", "sky"} <= possible_stems("plateaued") | possible_stems(
        "happy") | possible_stems("possibility") | possible_stems("skies")


def test_irregular_past_forms_and_comparatives_stem_as_their_base_words():
    """"can be found in" meets "where would i find", "led by" meets "who leads", "in smaller
    organizations" meets "at a small company"."""
    forms, verbs = ("found", "led", "paid", "brought"), ("find", "leads", "pays", "bring")
    assert [stem(w) for w in forms] == [stem(w) for w in verbs]
    assert stem("find") in content_terms("VP Operations can be found in various industries")
    assert stem("saw") != stem("see")  # a tool as often as a verb: left alone
    assert [stem(w) for w in ("smaller", "largest", "bigger")] == [stem(w) for w in ("small", "large", "big")]
    assert stem("small") in content_terms("In smaller organizations, the COO may wear many hats")


def test_an_adjective_that_means_something_else_keeps_its_own_stem():
    assert stem("skilled") != stem("skills") == stem("skill")  # "a skilled vp" lists no skills
    assert stem("skill") not in content_terms("A skilled VP of Operations can help your organization")


def test_rare_words_that_may_stem_to_a_term_are_those_possible_stems_finds():
    from bot.textproc import _english, _may_stem_to

    rare = sorted(w for w, count in _english().items() if w.isalpha() and count < 100)[::7]
    targets = {"employ", "manag", "salari", "happi", "possibl", "sky", "die", "plate", "a", "role_coo"}
    expected = {w for w in rare if not targets.isdisjoint(possible_stems(w))}
    assert {"employes", "managerially"} & expected or len(expected) > 50
    assert _may_stem_to(rare, targets) == expected


def test_words_snowball_leaves_alone_are_their_own_stems():
    """What ``stem`` answers without NLTK for words ending in none of Snowball's endings
    ("celsius", "css", "python"): NLTK's stem, on every word of pyspellchecker's list too."""
    from bot.textproc import _english, _own_stem

    found = set(words(normalize(" ".join(p.read_text(encoding="utf-8") for p in KNOWLEDGE.glob("*.md")))))
    found |= {w for w in _english() if w.isascii() and w.isalnum() and w.islower()}
    own = [word for word in sorted(found | _suffixed_words(60_000, seed=5)) if _own_stem(word)]
    assert len(own) > 40_000
    for word in own:
        assert _stemmer().stem(word) == word, word
    assert not any(map(_own_stem, ["celsiuses", "css's", "Python", "famous", "toppings", "fell"]))


def test_common_english_stems_are_unpacked_when_first_needed(monkeypatch):
    import bot.textproc as textproc

    for name, empty in (("_STEMS", {}), ("_COMMON", {}), ("_PACKED", None)):  # restored afterwards
        monkeypatch.setattr(textproc, name, empty)
    textproc.remember_stems({"salaries": "salari"}, textproc.pack_stems({"toppings": "top", "pizzas": "pizza"}))
    assert textproc._PACKED is not None and not textproc._COMMON  # nothing unpacked yet
    assert stem("salaries") == "salari" and textproc._PACKED is not None
    assert not textproc.needs_stemmer("toppings") and stem("toppings") == "top" and textproc._PACKED is None
    assert textproc.needs_stemmer("zqxjvvies")
    for broken in ("toppings", "toppings top ", "toppings  top", 3):
        with pytest.raises(ValueError):
            textproc.remember_stems({}, broken)


def test_how_common_english_words_are_as_an_index_records_it(monkeypatch):
    import bot.textproc as textproc
    from bot.analysis import ENGLISH_COUNT_STEPS

    monkeypatch.setattr(textproc, "_WORD_STEPS", ((), {}))  # restored afterwards
    monkeypatch.setattr(textproc, "_PACKED_WORDS", None)
    words_ = [w for w in textproc._english() if w.isascii() and w.isalpha() and w.islower()]
    words_ += ["zorblax", "quokkaz", "x"]
    from_list = [textproc.english_count_at_least(w, ENGLISH_COUNT_STEPS) for w in words_]
    assert {0, 100, 1000} <= set(from_list)
    textproc.remember_english(textproc.english_words(ENGLISH_COUNT_STEPS))
    assert [textproc.english_count_at_least(w, ENGLISH_COUNT_STEPS) for w in words_] == from_list
    assert textproc._WORD_STEPS[0] == ENGLISH_COUNT_STEPS
    with pytest.raises(ValueError):
        textproc.remember_english({"100": "abc"})


def test_words_as_stems_stand_for_themselves_only_within():
    from bot.textproc import needs_stemmer, words_as_stems

    assert needs_stemmer("zqxjvvy")
    with words_as_stems(["zqxjvvy"]):
        assert stem("zqxjvvy") == "zqxjvvy" and content_terms("the zqxjvvy") == ["zqxjvvy"]
    assert needs_stemmer("zqxjvvy")  # not remembered
    assert content_terms("zqxjvvies") == [_stemmer().stem("zqxjvvies")]


def test_content_terms_drop_stop_words_but_keep_meaningful_ones():
    terms = content_terms(normalize("Can the COO fire people at the top of the company?"))
    assert "the" not in terms and "of" not in terms and "can" not in terms
    assert stem("fire") in terms and stem("top") in terms  # scikit-learn's list would drop these
    assert stem("company") in terms and "coo" in terms


def test_stop_words_cover_question_filler():
    assert {"does", "the", "what", "is"} <= STOP_WORDS
    assert "fire" not in STOP_WORDS and "system" not in STOP_WORDS


def test_with_bigrams_adds_adjacent_pairs():
    assert with_bigrams(["supply", "chain", "manag"]) == ["supply", "chain", "manag", "supply chain", "chain manag"]
    assert with_bigrams([]) == []


# -- sentences ----------------------------------------------------------------------------------
def test_sentences_respect_abbreviations():
    text = "The VP vs. the COO differ, e.g. in scope. Mr. Smith agrees! Is it true? Yes."
    assert sentences(text) == ["The VP vs. the COO differ, e.g. in scope.", "Mr. Smith agrees!", "Is it true?", "Yes."]


def test_one_sentence_texts_are_what_punkt_makes_of_them():
    """Texts without a '.', '?' or '!' before their end skip Punkt: it would not split them."""
    import random

    from bot.textproc import _sentence_splitter

    rng = random.Random(2)
    pieces = [*"abc XY.?!:;,\"')(-\n\t", "Mr.", "e.g.", "  ", "...", "U.S.", "1.5", "’", "”", "Dr. No", "ok"]
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 10)))
        stripped = text.strip()
        expected = [s for s in _sentence_splitter().tokenize(stripped) if s.strip()] if stripped else []
        assert sentences(text) == expected, text


def test_sentences_of_blank_text():
    assert sentences("") == [] and sentences("   \n ") == []


@pytest.mark.parametrize(("line", "expected"), [
    ("Roles and Responsibilities", False), ("Key responsibilities include:", True),
    ("It ends here.", True), ("Is it?", True), ("Wow!", True), ("VP Operations COO", False),
])
def test_ends_sentence(line, expected):
    assert ends_sentence(line) is expected


def test_text_processing_needs_no_nltk_data(tmp_path, monkeypatch):
    """Every NLTK part used works when no nltk_data can be found anywhere."""
    import nltk

    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])
    _stemmer.cache_clear()
    assert sentences("First one. Second one.") == ["First one.", "Second one."]
    assert content_terms("operations managers manage budgets") == ["oper", "manag", "manag", "budget"]


def test_a_discourse_marker_is_no_content():
    assert stem("hand") not in content_terms("on the other hand, the coo leads")
    assert stem("hand") in content_terms("a hands-on approach")


# -- the vocabulary file ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return Vocabulary.load(KNOWLEDGE / "synonyms.ini")


def canon(vocab: Vocabulary, text: str) -> str:
    return " ".join(vocab.canonicalize(normalize(text)).split())


def test_role_token():
    assert role_token("VP of Operations") == "role_vp_of_operations"
    assert role_token("COO") == "role_coo"


@pytest.mark.parametrize("alias", [
    "VP Operations", "vp ops", "Vice President of Operations", "vice-president of operations", "VP of Operations",
])
def test_role_aliases_become_one_term(vocab, alias):
    assert canon(vocab, alias) == "role_vp_of_operations"


def test_role_names_made_of_common_words_stay_apart(vocab):
    assert canon(vocab, "ops manager vs director of ops") == "role_operations_manager vs role_operations_director"
    assert canon(vocab, "chief operating officer") == "role_coo"
    assert canon(vocab, "the chief executive officer") == "the role_ceo"


def test_longest_alias_wins_and_only_whole_words_match(vocab):
    assert canon(vocab, "vice president") == "vice president"  # not a role by itself
    assert canon(vocab, "cooperation and coordinators") == "cooperation and coordinators"


def testphrase_patterns_match_like_one_longest_first_alternation(vocab):
    """Phrases are grouped by first character for speed: the same matches as the plain pattern."""
    import random
    import re

    rng = random.Random(5)
    for phrases in (list(vocab._role_of), list(vocab._term_of)):
        plain = "|".join(re.escape(p) for p in sorted(set(phrases), key=len, reverse=True))
        reference = re.compile(rf"(?<![\w$])(?:{plain})(?![\w$])")
        grouped = phrase_pattern(phrases)
        pieces = [*phrases, *(w for p in phrases for w in p.split()), "x", "-", "$", "the", "s", "'s"]
        for _ in range(5000):
            text = " ".join(rng.choice(pieces) for _ in range(rng.randint(1, 10)))
            assert [m.span() for m in grouped.finditer(text)] == [m.span() for m in reference.finditer(text)]


def test_small_talk_pattern_matches_like_one_longest_first_alternation():
    import random
    import re

    from bot.smalltalk import _PATTERN, PHRASES

    phrases = sorted({p for ps in PHRASES.values() for p in ps}, key=len, reverse=True)
    reference = re.compile(r"(?<![\w'])(?:" + "|".join(map(re.escape, phrases)) + r")(?![\w'])")
    pieces = [*phrases, *(w for p in phrases for w in p.split()), "x", "'", "coo", "s", "'s", "?"]
    rng = random.Random(6)
    for _ in range(5000):
        text = " ".join(rng.choice(pieces) for _ in range(rng.randint(1, 10)))
        assert [m.span() for m in _PATTERN.finditer(text)] == [m.span() for m in reference.finditer(text)]


def test_role_names_for_display(vocab):
    assert {"COO", "VP of Operations", "Operations Manager", "Operations Director", "Head of Operations"} \
        <= set(vocab.role_names.values())


def test_synonyms_and_misspellings_expand(vocab):
    found = dict(vocab.expansions(normalize("How much do they earn? salery and duties")))
    assert found["earn"] == "salary" and found["salery"] == "salary"
    assert found["duties"] == "responsibilities"


def test_an_alias_naming_a_role_matches_the_question_with_the_role_rewritten():
    vocab = Vocabulary.parse("[roles]\nCEO = chief executive\n[terms]\nsuccessor = become ceo\n")
    canonical = vocab.canonicalize(normalize("Can a COO become chief executive?"))
    assert "  " in canonical  # role terms come padded with spaces
    assert dict(vocab.expansions(canonical)) == {"become role_ceo": "successor"}


def test_alias_words_feed_the_spelling_corrector(vocab):
    known = vocab.alias_words()
    assert {"salary", "chief", "operating", "officer", "responsibilities"} <= known


def test_missing_vocabulary_file_is_empty(tmp_path):
    vocab = Vocabulary.load(tmp_path / "synonyms.ini")
    assert vocab.roles == {} and vocab.terms == {}
    assert vocab.canonicalize("vp ops") == "vp ops"
    assert vocab.expansions("salary") == []


def test_vocabulary_file_format(tmp_path):
    path = write(tmp_path / "synonyms.ini", (
        "# comment\n[roles]\nChief Widget Officer = cwo, widget boss,\n    head widgeteer\n"
        "[terms]\ncog = sprocket, gear wheel\n[titles]\nwords = boss\n[stopwords]\nwords = yo\n"
        "[uncovered]\nwords = job offer, cwo equity\n"))
    vocab = Vocabulary.load(path)
    for alias in ["CWO", "widget boss", "head widgeteer", "chief widget officer"]:
        assert canon(vocab, alias) == "role_chief_widget_officer"
    assert vocab.expansions("a gear wheel") == [("gear wheel", "cog")]
    assert "boss" in vocab.titles and "yo" in vocab.stopwords
    assert vocab.uncovered_in(canon(vocab, "negotiating a job offer as a CWO")) == ["job offer"]
    assert vocab.uncovered_in(canon(vocab, "how much widget boss equity")) == ["role_chief_widget_officer equity"]


def test_a_subject_inside_a_longer_phrase_of_terms_is_not_uncovered(tmp_path):
    path = write(tmp_path / "synonyms.ini", (
        "[terms]\nexperience = on their resume\nbonus = signing bonus\n"
        "[uncovered]\nwords = resume, signing bonus\n"))
    vocab = Vocabulary.load(path)
    assert vocab.uncovered_in("how do i write a resume") == ["resume"]
    assert vocab.uncovered_in("what do they have on their resume") == []  # asks about their experience
    assert vocab.uncovered_in("is there a signing bonus") == ["signing bonus"]  # the same phrase: still uncovered


@pytest.mark.parametrize("content", [b"[roles\nbroken", b"\xff\xfe[roles]\nA = b\n"])
def test_broken_vocabulary_file_is_a_clear_error(tmp_path, content):
    path = tmp_path / "synonyms.ini"
    path.write_bytes(content)
    with pytest.raises(VocabularyError, match=r"synonyms\.ini"):
        Vocabulary.load(path)


# -- spelling correction ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def speller() -> SpellingCorrector:
    # A word -> count mapping (iterating it gives the words): the dictionary of known words.
    return SpellingCorrector(dict.fromkeys(
        ["operations", "responsibilities", "salary", "director", "manager", "want", "cant"], 1))


@pytest.mark.parametrize(("typo", "fixed"), [
    ("operatoins", "operations"), ("responsibilites", "responsibilities"), ("salray", "salary"),
    ("dirctor", "director"), ("mangaer", "manager"),
])
def test_typos_are_corrected(speller, typo, fixed):
    assert speller.correct(typo) == fixed


@pytest.mark.parametrize("word", ["salary", "zzzzzzzz", "xperations", "wnat", "kubernetes"])
def test_known_short_or_far_words_are_left_alone(speller, word):
    assert speller.correct(word) is None


def test_empty_speller():
    assert SpellingCorrector({}).correct("anything") is None


# -- question analysis --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def analyzer(vocab) -> Analyzer:
    analyzer = Analyzer(vocab)
    analyzer.learn([
        "The COO oversees operations and reports to the CEO.",
        "The VP of Operations manages budgets and departments.",
        "Operations managers handle day-to-day responsibilities and hiring.",
    ])
    return analyzer


def test_query_finds_roles_in_order(analyzer):
    q = analyzer.query("Does the VP ops report to the chief operating officer?")
    assert q.roles == ["role_vp_of_operations", "role_coo"]


def test_query_expands_synonyms(analyzer):
    q = analyzer.query("how much does a coo earn")
    assert stem("salary") in q.terms
    assert q.roles == ["role_coo"]


def test_query_corrects_typos_against_indexed_words(analyzer):
    q = analyzer.query("what does the ceo do in opertaions")
    assert q.corrections == {"opertaions": "operations"}
    assert stem("operations") in q.terms


def test_query_keeps_forms_of_indexed_words(analyzer):
    q = analyzer.query("who manages departments")
    assert q.corrections == {}
    assert stem("manages") in q.terms and stem("departments") in q.terms


def test_an_english_form_of_an_indexed_word_is_no_typo_of_a_vocabulary_word(vocab):
    """"motivating" is two letters from "mitigating" (a word of the vocabulary file) but a form of
    the articles' "motivate"; "directer" is one letter from "director" and no such form."""
    analyzer = Analyzer(vocab)
    analyzer.learn(["They inspire and motivate teams.", "Mitigating risks is the director's job."])
    assert "mitigating" in vocab.alias_words()
    assert analyzer.query("what about motivating staff").corrections == {}
    assert stem("motivate") in analyzer.query("what about motivating staff").terms
    assert analyzer.query("what does the directer do").corrections == {"directer": "director"}


@pytest.mark.parametrize("question", ["should we hire a vp of ops or a coo", "would a coo or a vp ops suit me",
                                      "small biz: hire vp ops or coo?", "vp of ops or coo, which one do i hire"])
def test_should_one_role_or_another_asks_to_choose_between_them(analyzer, question):
    chosen = analyzer.query("choose between a vp of ops and a coo").terms
    meaning = [t for t in chosen if " " not in t and not t.startswith("role_")]
    assert meaning and set(meaning) <= set(analyzer.query(question).terms)
    assert not set(meaning) <= set(analyzer.query("who does budgeting, the vp ops or the coo").terms)
    assert not set(meaning) <= set(analyzer.query("what do companies look for when hiring a vp ops or coo").terms)


def test_a_hyphenated_alias_keeps_its_words(vocab):
    analyzer = Analyzer(vocab)
    analyzer.learn(["A VP Operations role suits those who enjoy hands-on management."])
    assert stem("hands") in analyzer.query("i like being hands-on").terms


@pytest.mark.parametrize("question", ["who signs the contract", "who wires things", "what about the shoes"])
def test_query_leaves_common_english_words_alone(vocab, question):
    # "contract" is one letter from "contrast", "wires" from "fires": real words, not typos.
    analyzer = Analyzer(vocab)
    analyzer.learn(["Compare and contrast the roles.", "The COO fires staff.", "Shots were taken."])
    q = analyzer.query(question)
    assert q.corrections == {}
    assert q.unknown_words  # the word is kept, and the articles don't use it


def test_query_still_fixes_rare_words_near_role_names(analyzer):
    # "manger" is an English word, but a rare one, one letter from a role name's word.
    assert analyzer.query("what does an operations manger earn").corrections == {"manger": "manager"}


def test_query_never_corrects_chat_filler(vocab):
    analyzer = Analyzer(vocab)
    analyzer.learn(["The COO manages staff."])
    q = analyzer.query("coo staff or stuff")
    assert "stuff" not in q.corrections


def test_query_keeps_the_words_of_a_phrase_the_articles_use(vocab):
    # "big picture" is an alias of strategy; the articles also say "the big picture" themselves.
    analyzer = Analyzer(vocab)
    analyzer.learn(["The COO focuses on the big picture, aligning operations with the overall strategy."])
    q = analyzer.query("who thinks about the big picture")
    assert stem("big") in q.terms and stem("picture") in q.terms
    assert stem("strategy") in q.terms  # and what the alias means
    # An idiom the articles don't use is replaced by its meaning: "in common" is not "common".
    analyzer.learn(["A common question is which role earns more."])
    assert stem("common") not in analyzer.query("what do they have in common").terms


def test_query_reports_unknown_titles_and_words(analyzer):
    q = analyzer.query("what does a project manager do")
    assert q.unknown_titles == ["project manager"]
    assert "project" in q.unknown_words
    assert analyzer.query("what does the coo do").unknown_titles == []
    assert analyzer.query("tell me about kubernetes").unknown_words == ["kubernetes"]


@pytest.mark.parametrize("question", ["who does the coo work with on a daily basis - managers?",
                                      "who does the coo deal with day to day, managers and staff?"])
def test_a_word_of_another_clause_qualifies_no_title(analyzer, question):
    # "basis managers", "day managers" are no job titles: a dash or a comma stands between.
    assert analyzer.query(question).unknown_titles == []
    assert analyzer.query("who does the coo deal with day to day managers?").unknown_titles == ["day managers"]


def test_clause_starts_are_the_words_after_punctuation():
    text = "on a daily basis - managers, supervisors (and) hands-on staff"
    assert [words(text)[i] for i in sorted(clause_starts(text))] == ["managers", "supervisors", "and", "hands"]


def test_what_a_role_does_asks_for_its_duties(analyzer):
    meant = set(analyzer.query("what do they do").subject) - {"what", "do", "they"}
    assert meant and meant <= set(analyzer.query("what does a coo do in a small business").subject)
    assert meant <= set(analyzer.query("what do ops managers actually do all day").subject)
    assert not meant & set(analyzer.query("what does a coo earn in a small business").subject)


def test_the_askers_own_job_is_no_title_asked_about(analyzer):
    for question in ["i'm moving from a project manager job into ops, what do i need",
                     "i've been a project manager for years, can i become a coo",
                     "working as an analyst, how do i get to coo", "ex project manager here, coo path?"]:
        assert analyzer.query(question).unknown_titles == [], question
    assert analyzer.query("should a project manager become a coo").unknown_titles == ["project manager"]


def test_a_title_is_known_only_from_the_title_word_itself_after_its_qualifier(vocab):
    analyzer = Analyzer(vocab)
    analyzer.learn(["Supply chain management matters. Department managers report to the COO."])
    # "management" stems like "manager": the texts never name a supply chain manager
    assert analyzer.query("supply chain manager salary").unknown_titles == ["chain manager"]
    assert analyzer.query("what do department managers do").unknown_titles == []
    other = Analyzer(vocab)
    other.load_state(analyzer.to_state())  # the index keeps what it saw
    assert other.query("supply chain manager salary").unknown_titles == ["chain manager"]
    assert other.query("what do department managers do").unknown_titles == []


def test_content_words_are_the_questions_own(analyzer):
    # "vs" adds "differences"; the question still has three words of its own, two of which no
    # article uses (counting terms and unknown words together made it five).
    q = analyzer.query("kubernetes vs docker")
    assert q.content_words == 3 and sorted(q.unknown_words) == ["docker", "kubernetes"]


def test_analyzer_state_round_trip(analyzer, vocab):
    other = Analyzer(vocab)
    other.load_state(analyzer.to_state())
    for question in ["what does the ceo do in opertaions", "how much does a coo earn", "project manager?"]:
        assert other.query(question) == analyzer.query(question)


def test_a_name_spelled_out_counts_as_saying_what_it_stands_for(analyzer):
    meant = set(analyzer.query("what does it stand for").terms)
    assert meant
    _, spelled = analyzer.analyse("A Vice President of Operations (VP Operations) is a senior position.")
    assert meant <= set(spelled)
    _, mentioned = analyzer.analyse("Compare the Vice President of Operations (VP Operations) and COO.")
    assert meant.isdisjoint(mentioned)  # named in passing, not defined


@pytest.mark.parametrize(("meaning", "asking", "not_asking"), [
    # what a role makes is its pay, not what it makes sure of
    ("how much do they make", ["what does a coo make", "what do ops managers make compared to a coo",
                               "what does a vp of ops make?"],
     ["what does the coo make sure of", "does the coo make decisions"]),
    # one role also being another: one person in both, not a career step
    ("one person", ["is it possible for our vp ops to also be the coo", "can the vp of operations just be the coo",
                    "could the coo be the vp of ops as well?"],
     ["can a vp ops become a coo", "can the coo be promoted to ceo"]),
])
def test_a_wording_asks_what_the_vocabulary_says_it_means(analyzer, meaning, asking, not_asking):
    meant = set(analyzer.query(meaning).subject)
    assert meant
    for question in asking:
        assert meant <= set(analyzer.query(question).subject), question
    for question in not_asking:
        assert not meant & set(analyzer.query(question).subject), question


def test_a_phrase_with_a_possessive_pronoun_also_matches_with_the_others():
    vocab = Vocabulary.parse("[terms]\ncareer = work your way up\n")
    for said in ("how do coos work their way up", "i want to work my way up", "she worked her way up"):
        assert ("career" in [c for _, c in vocab.expansions(normalize(said))]) == ("worked" not in said)


def test_an_alias_written_for_another_pronoun_keeps_its_own_meaning():
    vocab = Vocabulary.parse("[terms]\nmanager = my boss\nsupervisor = their boss\n")
    assert vocab.expansions(normalize("who is their boss")) == [("their boss", "supervisor")]
    assert vocab.expansions(normalize("who is your boss")) == [("your boss", "manager")]


def test_words_only_in_the_askers_setting_are_not_unknown_words_of_the_question(vocab):
    analyzer = Analyzer(vocab)
    analyzer.learn(["The COO reports to the CEO."])
    told = analyzer.query("We're a 300-person metal fab shop. Who would a COO normally answer to?")
    assert "metal" not in told.unknown_words and "fab" not in told.unknown_words
    asked = analyzer.query("Who would a COO at a metal fab shop answer to?")
    assert "metal" in asked.unknown_words
    asked_first = analyzer.query("Who does a COO answer to? We're a metal fab shop.")
    assert "metal" in asked_first.unknown_words  # a question first: what follows is no setting of it
