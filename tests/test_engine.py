"""The answer engine: answers with a passage, small talk, or "I don't know"."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import BOTH_ROLES_ANSWER, BOTH_ROLES_QUESTION, UNRELATED_QUESTIONS, write
from test_ingest import GIZMO_MD, WIDGETS_TXT

from bot.config import Settings
from bot.engine import Answer, Engine

JSON_KEYS = {"id", "question", "kind", "answer", "score", "source", "section", "alternatives", "reply"}
ALTERNATIVE_KEYS = {"text", "source", "section", "score"}
DONT_KNOW = re.compile(r"\b(don'?t|do not|doesn'?t)\b[^.]*\bknow\b|\bno answer\b", re.IGNORECASE)

# Questions whose answer is a fact stated in exactly one place in the articles.
FACT_QUESTIONS = [
    ("What is the average salary for an operations manager?", "75,844"),
    ("Which certifications do operations managers pursue?", "APICS"),
    ("What are the educational requirements for these roles?", "degree"),
]
IN_DOMAIN = [BOTH_ROLES_QUESTION, *(q for q, _ in FACT_QUESTIONS), "what does a coo earn?",
             "who does the vp of operations report to", "what does a head of operations do"]


def _engine_with(engine: Engine, **overrides) -> Engine:
    """The same index, other settings (no rebuild)."""
    return Engine(engine.retriever, engine.settings.with_overrides(**overrides),
                  calibration={"threshold": engine.threshold, "confidence_weights": engine.weights,
                               "confidence_bias": engine.bias})


# -- answering --------------------------------------------------------------------------------
def test_answers_the_both_roles_question_with_the_faq_entry(engine):
    a = engine.ask(BOTH_ROLES_QUESTION)
    assert a.kind == "answer"
    assert BOTH_ROLES_ANSWER in a.text
    assert "Can one person hold both the VP Operations and COO roles?" in a.text
    assert a.source == "vp-operations-vs-coo.txt"
    assert a.section == "Frequently Asked Questions"
    assert a.title and a.reason is None
    assert engine.threshold <= a.score <= 1.0


def test_answer_reply_shows_passage_source_and_confidence(engine):
    a = engine.ask(BOTH_ROLES_QUESTION)
    assert a.text in a.reply
    assert a.source in a.reply and a.section in a.reply
    assert f"{a.score:.0%}" in a.reply


@pytest.mark.parametrize(("question", "fact"), FACT_QUESTIONS)
def test_answers_carry_the_fact_asked_for(engine, question, fact):
    a = engine.ask(question)
    assert a.kind == "answer"
    assert fact in a.text


@pytest.mark.parametrize("question", IN_DOMAIN)
def test_alternatives_are_other_passages(engine, question):
    a = engine.ask(question)
    assert a.kind == "answer"
    assert len(a.alternatives) <= engine.settings.top_k
    texts = [a.text, *(alt.text for alt in a.alternatives)]
    assert len(set(texts)) == len(texts), "an alternative repeats a passage"
    for alt in a.alternatives:
        assert alt.source.endswith(".txt") and alt.text.strip()
        assert 0.0 <= alt.score <= 1.0


@pytest.mark.parametrize("question", IN_DOMAIN)
def test_answer_is_at_least_as_confident_as_its_alternatives(engine, question):
    a = engine.ask(question)
    assert a.kind == "answer"
    worse = [alt.score for alt in a.alternatives if alt.score > a.score]
    assert not worse, f"answer {a.score:.3f} but alternatives {worse} score higher"


@pytest.mark.parametrize("question", IN_DOMAIN)
def test_alternatives_are_listed_best_first(engine, question):
    scores = [alt.score for alt in engine.ask(question).alternatives]
    assert scores == sorted(scores, reverse=True), scores


@pytest.mark.parametrize("top_k", [0, 1, 2])
def test_top_k_limits_alternatives(engine, top_k):
    a = _engine_with(engine, top_k=top_k).ask(BOTH_ROLES_QUESTION)
    assert a.kind == "answer"
    assert len(a.alternatives) <= top_k
    if top_k == 0:
        assert a.alternatives == ()


def test_answers_are_deterministic(engine):
    assert engine.ask(BOTH_ROLES_QUESTION).to_json() == engine.ask(BOTH_ROLES_QUESTION).to_json()


def test_concurrent_questions_get_the_same_answers(engine):
    questions = IN_DOMAIN * 4
    expected = {q: engine.ask(q).to_json() for q in set(questions)}
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(engine.ask, questions))
    for q, a in zip(questions, results, strict=True):
        assert a.to_json() == expected[q]


# -- not answering ----------------------------------------------------------------------------
@pytest.mark.parametrize("question", [*UNRELATED_QUESTIONS, "tell me about kubernetes deployments"])
def test_abstains_on_unrelated_questions(engine, question):
    a = engine.ask(question)
    assert a.kind == "unknown"
    assert a.text is None and a.source is None and a.alternatives == ()
    assert DONT_KNOW.search(a.reply), a.reply
    assert a.score < engine.threshold
    assert isinstance(a.suggestions, tuple)
    assert len(a.suggestions) <= engine.settings.suggestions
    for s in a.suggestions:
        assert s in a.reply
    j = a.to_json()
    assert j["answer"] is None and j["source"] is None and j["section"] is None and j["alternatives"] == []


@pytest.mark.parametrize("question", ["common interview questions for a coo role",
                                      "how much equity should a startup coo get"])
def test_a_subject_the_articles_do_not_cover_counts_as_off_topic(engine, question):
    """``[uncovered]`` in the vocabulary: interviews and equity are next to the articles' topics,
    but nothing in them answers such a question."""
    from bot.engine import confidence_features

    query = engine.retriever.analyzer.query(question)
    assert query.uncovered and not query.unknown_titles
    hit = engine.retriever.retrieve(query, k=1)[0]
    assert confidence_features(hit, query)[3] == 1.0  # the off-topic feature, as for an uncovered job
    assert engine.ask(question).kind == "unknown"
    assert not engine.retriever.analyzer.query("common questions about the coo role").uncovered


def test_threshold_one_means_never_answer(engine):
    strict = Engine(engine.retriever, engine.settings, calibration={"threshold": 1.0})
    a = strict.ask(BOTH_ROLES_QUESTION)
    assert a.kind == "unknown"
    assert DONT_KNOW.search(a.reply)


@pytest.mark.parametrize("message", ["hi", "thanks!", "who are you", "Hello there", "bye"])
def test_small_talk_gets_no_passage(engine, message):
    a = engine.ask(message)
    assert a.kind == "smalltalk"
    assert a.text is None and a.source is None and a.section is None and a.alternatives == ()
    assert a.reply.strip()
    assert a.to_json()["answer"] is None


def test_small_talk_with_a_typo_is_small_talk(engine):
    assert engine.ask("thnaks, that helped a lot").kind == "smalltalk"


def test_a_misspelt_filler_word_is_that_word_not_a_job_title(engine):
    query = engine.retriever.analyzer.query("what does an operations director actualy do day to day")
    assert query.corrections["actualy"] in {"actual", "actually"} and not query.unknown_titles
    assert engine.ask("what does an operations director actualy do day to day").kind == "answer"


def test_small_talk_replies_name_the_topics(engine):
    assert "COO" in engine.ask("hi").reply
    assert "COO" in engine.ask("who are you").reply


def test_a_question_with_a_greeting_is_still_a_question(engine):
    assert engine.ask("hey, what does a coo earn?").kind != "smalltalk"


@pytest.mark.parametrize("question", ["", "   ", "\n\t", "?!", "…"])
def test_empty_question_gets_a_clear_reply(engine, question):
    a = engine.ask(question)
    assert a.kind == "unknown"
    assert a.reason == "empty"
    assert a.text is None and a.alternatives == ()
    assert "question" in a.reply.lower()


@pytest.mark.parametrize("story", [
    "hey so quick q, i got an offer for vp operations at a mid-size manufacturing co. just want to sanity "
    "check the number, whats the usual range?",
    "i got an offer for vp operations at a mid-size manufacturing company and my partner says it is low. "
    "what is the usual salary?",
])
def test_a_long_message_is_answered_by_its_question_not_its_story(engine, story):
    a = engine.ask(story)
    assert a.kind == "answer" and a.resolved is not None and "VP of Operations" in a.resolved
    assert "$150,000" in a.text  # the salary table, not a passage matching the story's words


@pytest.mark.parametrize(("question", "role", "said"), [
    ("what does vp ops stand for", "VP of Operations", "A Vice President of Operations (VP Operations) is"),
    ("whats coo short for", "COO", "Chief Operating Officer"),
    ("head of ops meaning", "Head of Operations", "The Head of Operations is"),
    ("define ops manager", "Operations Manager", "Operations Managers are responsible"),
])
def test_what_a_roles_name_means_is_answered_with_what_the_role_is(engine, question, role, said):
    a = engine.ask(question)
    assert a.kind == "answer" and a.topic.roles == (engine.retriever.analyzer.canonical(role).strip(),)
    assert said in a.text


@pytest.mark.parametrize(("question", "role"), [("what's a coo", "role_coo"),
                                              ("what is a vp of ops", "role_vp_of_operations"),
                                              ("what is an ops manager", "role_operations_manager")])
def test_a_question_naming_only_a_role_is_answered_by_a_passage_about_it_alone(engine, question, role):
    a = engine.ask(question)
    focus = {engine.retriever.focus(i) for i, p in enumerate(engine.retriever.passages_) if p.text == a.text}
    assert a.kind == "answer" and focus == {(role,)}  # not a passage comparing it with another role


def test_what_a_role_is_with_a_remark_after_it_is_what_the_role_is(engine):
    remark = engine.ask("what even is a vp of operations?? never heard of it before my business class")
    assert remark.kind == "answer" and remark.text == engine.ask("what is a vp of operations").text
    more = engine.ask("what is a coo? also how much do they make")  # a second question is not dropped
    assert more.kind == "answer" and "$200,000" in more.text


def test_over_long_question_is_refused_naming_the_limit(engine):
    limit = engine.settings.max_question_chars
    a = engine.ask(BOTH_ROLES_QUESTION + " " + "x" * limit)
    assert a.kind == "unknown" and a.reason == "too_long"
    assert a.text is None
    assert f"{limit:,}" in a.reply or str(limit) in a.reply


def test_question_at_the_limit_is_accepted(engine):
    small = _engine_with(engine, max_question_chars=len(BOTH_ROLES_QUESTION))
    assert small.ask(BOTH_ROLES_QUESTION).kind == "answer"
    refused = small.ask(BOTH_ROLES_QUESTION + "?")
    assert refused.reason == "too_long"
    assert str(len(BOTH_ROLES_QUESTION)) in refused.reply


# -- the JSON contract ------------------------------------------------------------------------
@pytest.mark.parametrize("question", [BOTH_ROLES_QUESTION, UNRELATED_QUESTIONS[0], "hi", "", "x" * 3000])
def test_to_json_has_exactly_the_contract_keys(engine, question):
    j = engine.ask(question).to_json(id=42)
    assert set(j) == JSON_KEYS
    assert j["id"] == 42 and j["question"] == question
    assert j["kind"] in ("answer", "smalltalk", "unknown")
    assert isinstance(j["score"], float) and 0.0 <= j["score"] <= 1.0
    assert isinstance(j["reply"], str) and j["reply"]
    for alt in j["alternatives"]:
        assert set(alt) == ALTERNATIVE_KEYS


def test_to_json_of_an_answer(engine):
    a = engine.ask(BOTH_ROLES_QUESTION)
    j = a.to_json()
    assert j["id"] is None
    assert j["answer"] == a.text and j["source"] == a.source and j["section"] == a.section
    assert len(j["alternatives"]) == len(a.alternatives)


# -- bookkeeping ------------------------------------------------------------------------------
def test_sources_lists_every_document(engine):
    sources = engine.sources()
    assert len(sources) == 5
    assert {src for src, _, _ in sources} == {p.name for p in Path(engine.knowledge).glob("*.txt")}
    assert all(title and n > 0 for _, title, n in sources)


def test_stats_count_each_kind(engine):
    fresh = _engine_with(engine)
    for q in [BOTH_ROLES_QUESTION, "hi", UNRELATED_QUESTIONS[0], ""]:
        fresh.ask(q)
    s = fresh.stats
    assert (s.questions, s.answered, s.smalltalk, s.unknown) == (4, 1, 1, 2)


def test_engine_on_a_small_fixture_folder(tmp_path):
    write(tmp_path / "kb" / "widgets.txt", WIDGETS_TXT)
    write(tmp_path / "kb" / "gizmo.md", GIZMO_MD)
    engine = Engine.open(tmp_path / "kb", tmp_path / "idx", Settings())
    a = engine.ask("can a widget be painted?")
    assert isinstance(a, Answer)
    assert a.kind == "answer" and "enamel" in a.text and a.source == "widgets.txt"
    assert engine.ask("how do I repair a broken gizmo").source == "gizmo.md"
    assert engine.ask(UNRELATED_QUESTIONS[0]).kind == "unknown"
    assert "Widget" in engine.topics or "Gizmo" in engine.topics


def test_a_question_about_two_roles_prefers_the_article_comparing_them(tmp_path):
    # The same sentence in two articles: the one whose title names exactly the roles asked about wins.
    body = ("Budgets\nThe COO and the Operations Director agree the yearly budget with the finance team. "
            "Spending is reviewed every quarter against the plan.\n")
    write(tmp_path / "kb" / "a.txt", "Head of Operations vs COO\n\n" + body)
    write(tmp_path / "kb" / "b.txt", "COO vs Operations Director\n\n" + body)
    vocabulary = (Path(__file__).resolve().parent.parent / "knowledge" / "synonyms.ini").read_text(encoding="utf-8")
    write(tmp_path / "kb" / "synonyms.ini", vocabulary)
    engine = Engine.open(tmp_path / "kb", tmp_path / "idx", Settings())
    assert engine.ask("who sets the budget, the coo or the ops director?").source == "b.txt"
    flat = Engine.open(tmp_path / "kb", tmp_path / "idx2", Settings(title_focus_bonus=0.0))
    hits = flat.retriever.retrieve("who sets the budget, the coo or the ops director?", k=2)
    assert hits[0].score == hits[1].score  # without the bonus the two are tied


def test_passages_inherit_the_setting_their_article_title_names(tmp_path):
    # The same section in two articles; only the titles say where the role works.
    body = ("Duties of the COO\n\nThe COO runs the weekly planning meeting and signs off new hires. "
            "Each quarter the COO reviews spending against the plan.\n")
    write(tmp_path / "kb" / "a.txt", "The COO in Small Business Management\n\n" + body)
    write(tmp_path / "kb" / "b.txt", "The COO in Large Enterprises\n\n" + body)
    engine = Engine.open(tmp_path / "kb", tmp_path / "idx", Settings())
    assert engine.ask("what does a coo do in a small business?").source == "a.txt"
    assert engine.ask("what does a coo do in large enterprises?").source == "b.txt"


def test_asking_for_a_list_prefers_a_passage_that_lists(tmp_path, monkeypatch):
    write(tmp_path / "kb" / "coo.txt", (
        "The COO\n\nDuties of the COO\n\nThe COO plans the year, hires managers and reports to the board. "
        "The work grows with the company.\n\n"
        "The COO at work\n\nThe COO's duties:\n- planning the year\n- hiring managers\n- reporting to the board\n"))
    engine = Engine.open(tmp_path / "kb", tmp_path / "idx", Settings(threshold=0.0))  # no vocabulary: low scores
    assert engine.ask("what does the coo do").section == "Duties of the COO"
    assert engine.ask("list what the coo does").section == "The COO at work"
    assert engine.ask("what the coo does, in bullet points pls").section == "The COO at work"
    monkeypatch.setattr("bot.engine.LIST_BONUS", 0.0)
    assert engine.ask("list what the coo does").section == "Duties of the COO"


@pytest.mark.parametrize("question", ["what is ebitda", "what's an evp?", "define okr", "kaizen meaning in ops?",
                                      "ebitda definition"])
def test_what_something_the_articles_never_name_is_is_not_answered(engine, question):
    # The vocabulary relates these to words the articles use (profitability, vice president,
    # goals), but the articles define none of them.
    a = engine.ask(question)
    assert a.kind == "unknown" and a.score < engine.threshold


@pytest.mark.parametrize(("question", "expected"), [("what is a kpi", "KPIs"), ("what is a coo", "COO"),
                                                    ("what is an mba", "MBA")])
def test_what_something_the_articles_name_is_is_answered(engine, question, expected):
    a = engine.ask(question)
    assert a.kind == "answer" and expected in a.text


def test_only_a_titles_own_words_are_inherited(engine):
    from bot.retriever import setting_terms

    inherited = setting_terms(engine.retriever.passages_, engine.retriever.analyzer)
    small = next(terms for title, terms in inherited.items() if "Small Business" in title)
    assert {"small", "small busi"} <= small
    everywhere = set().union(*inherited.values())
    assert "differ" not in everywhere  # most titles say "difference": it tells no article apart
    assert "respons" not in everywhere  # headings say "Responsibilities": some sections' subject
    assert not any(term.startswith("role_") and " " not in term for term in everywhere)


@pytest.mark.parametrize("question", ["operations director salary", "how much does an ops director make?"])
def test_a_fact_given_only_for_other_roles_is_not_answered_with_the_roles_passage(engine, question):
    # The articles give salaries for the COO, VP of Operations and Operations Manager only.
    a = engine.ask(question)
    assert a.kind == "unknown" and a.score < engine.threshold
    assert "don't say that for the Operations Director" in a.reply and "Operations Manager" in a.reply
    assert engine.ask("operations manager salary").kind == "answer"
    assert "75,844" in engine.ask("operations manager salary").text


def test_a_fact_said_once_for_another_role_is_not_answered_for_this_one(engine):
    # Only the operations managers' certifications are named (in one passage, under no heading).
    a = engine.ask("certs for ops directors?")
    assert a.kind == "unknown" and "don't say that for the Operations Director" in a.reply
    assert "Operations Manager" in a.reply
    assert "APICS" in engine.ask("certs for ops managers?").text


@pytest.mark.parametrize("question", ["cfo vs coo whats the difference", "coo vs ceo - whats the difference",
                                      "how does a cfo differ from a coo?"])
def test_comparing_a_covered_role_with_one_only_mentioned_is_not_answered(engine, question):
    # The articles describe the COO, not the CFO or the CEO: half a comparison is no answer.
    assert engine.ask(question).kind == "unknown"


@pytest.mark.parametrize("question", ["is ops director above vp ops", "hoo or ops dir which is more senior",
                                      "what's the difference between an operations manager and a vp of operations?"])
def test_ranking_or_telling_apart_two_roles_no_article_compares_is_not_answered(engine, question):
    # Each article sets one role beside the COO; none compares these two.
    assert engine.ask(question).kind == "unknown"


def test_two_roles_no_article_compares_can_still_be_asked_about(engine):
    assert engine.ask("ops mgr vs vp ops salary").kind == "answer"  # each one's salary is given
    assert engine.ask("is the coo above the vp of ops").kind == "answer"  # compared in an article
    assert engine.retriever.about_together(["role_coo", "role_vp_of_operations"])
    assert not engine.retriever.about_together(["role_operations_director", "role_vp_of_operations"])


def test_comparing_two_covered_roles_beside_another_is_still_answered(engine):
    assert engine.ask("i'm a ceo, what's the difference between a coo and an ops director").kind == "answer"
    assert engine.ask("who does the coo work with, like the cfo?").kind == "answer"


def test_equity_is_the_articles_stock_options_but_how_much_of_it_is_not_answered(engine):
    assert "stock options" in engine.ask("does coo pay include equity like stock options").text
    assert "stock options" in engine.ask("besides base pay what else should i look at, like equity").text
    assert engine.ask("how much equity should a startup coo get").kind == "unknown"


@pytest.mark.parametrize("question", ["what's the typical bonus percentage for a vp ops",
                                      "what percentage of the base salary is a usual annual bonus for a coo?"])
def test_a_percentage_is_not_answered_by_a_passage_without_one(engine, question):
    # The salary passages hold figures and mention bonuses, but no percentage.
    assert engine.ask(question).kind == "unknown"
    assert not Engine._may_give_quantity("coo bonus percentage", "COOs earn $200,000 a year.")
    assert Engine._may_give_quantity("coo bonus percentage", "Bonuses add 20% to the base.")


@pytest.mark.parametrize("question", ["how many people does a head of operations manage",
                                      "what percentage of companies have a coo",
                                      "what % of companies even have a coo",
                                      "how many hours a week does a head of operations work",
                                      "typical time to hire a head of operations"])
def test_a_question_asking_for_a_number_is_not_answered_by_a_passage_without_one(engine, question):
    assert engine.ask(question).kind == "unknown"


@pytest.mark.parametrize(("question", "fact"), [
    ("how many years of experience does a coo need", "several years"),  # a number in words
    ("how much does a coo make", "$200,000"),
])
def test_a_question_asking_for_a_number_gets_the_passage_with_it(engine, question, fact):
    a = engine.ask(question)
    assert a.kind == "answer" and fact in a.text


def test_how_many_is_also_answered_by_naming_them():
    # Departments listed, not counted: still the answer to "how many departments".
    passage = "The VP manages various departments, such as production, logistics and customer service."
    assert Engine._may_give_quantity("how many departments does the vp run", passage)
    assert not Engine._may_give_quantity("how many people does the vp manage", passage)
    assert Engine._may_give_quantity("what does the vp manage", passage)
    assert not Engine._may_give_quantity("how long is the contract", "1. Contracts\nThey are signed by the COO.")
    assert Engine._may_give_quantity("how often is it reviewed", "The plan is reviewed twice a year.")


def test_how_many_of_something_no_article_mentions_is_not_answered():
    passage = "COOs earn $200,000 to $400,000 a year."  # a number, but not a count of calories
    assert not Engine._may_give_quantity("how many calories does a coo burn", passage, unknown=["calories", "burn"])
    assert Engine._may_give_quantity("how many dollars does a coo earn", passage, unknown=[])


@pytest.mark.parametrize(("question", "fact"), [
    ("who sits down with the ceo to work out the company's vision", "vision"),
    ("whos next in line after the ceo", "second-in-command"),
])
def test_asking_who_works_with_the_ceo_asks_for_a_covered_role(engine, question, fact):
    # The CEO is no article's subject, but "who ... the ceo" asks for one that is.
    a = engine.ask(question)
    assert a.kind == "answer" and fact in a.text


@pytest.mark.parametrize("question", ["what does a ceo do all day", "how much does a ceo earn"])
def test_a_question_about_the_ceo_itself_is_not_answered(engine, question):
    assert engine.ask(question).kind == "unknown"


@pytest.mark.parametrize("question", ["what is a vp of ops", "what does a vp of ops do", "vp of operations?"])
def test_a_question_naming_only_a_role_gets_what_the_role_does(engine, question):
    a = engine.ask(question)
    assert a.kind == "answer" and "responsib" in a.text.lower()
    assert a.section != "The Benefits of Hiring a VP of Operations"  # a short intro to a list elsewhere
    assert a.topic.subject == ()  # the topic stays the role: "is that the same as a coo?" compares them


@pytest.mark.parametrize(("question", "says"), [
    ("why should a business care about coo vs ops director", "By understanding the differences between these roles"),
    ("why does head of ops vs coo distinction matter", "understanding the distinctions between the Head of Operations"),
    ("why should i care about the vp ops vs coo difference for my career", "career"),
    ("i'm a ceo, why should i care about the coo vs ops director distinction", "By understanding the differences"),
])
def test_why_telling_two_roles_apart_matters_gets_what_understanding_it_is_for(engine, question, says):
    a = engine.ask(question)
    assert a.kind == "answer" and says in a.text
    assert re.search(r"(?i)understanding (?:the|these) (?:key )?(?:differences|distinctions|nuances)", a.text)


def test_why_one_role_is_worth_having_beside_another_is_not_about_telling_them_apart(engine):
    a = engine.ask("why bother appointing a coo if i already have a vp of ops")
    assert a.kind == "answer" and "understanding" not in a.text.lower()


def test_a_sections_lead_in_counts_less_than_the_article_opening(engine):
    r = engine.retriever
    factor = {p.section or p.title: f for p, f in zip(r.passages_, r._lead_factor, strict=True)}
    settings = engine.settings
    assert factor["Qualifications for VP Operations and COO Roles"] == pytest.approx(settings.section_lead_weight)
    assert factor["COO vs Operations Director - Understanding the Difference"] == pytest.approx(settings.lead_weight)
    a = engine.ask("qualifications vp ops coo")
    assert a.kind == "answer" and a.section != "Qualifications for VP Operations and COO Roles"
    assert "qualifications" in a.text.lower()


def test_a_paragraph_labelled_with_a_role_is_about_that_role_not_its_headings_others(engine):
    r = engine.retriever
    [labelled] = [i for i, p in enumerate(r.passages_) if p.text.startswith("COO: The role of a COO is broader")]
    assert r.role_support(["role_coo"])[labelled] == 1.0
    assert r.role_support(["role_vp_of_operations"])[labelled] < 1.0
    a = engine.ask("vp ops coordinate which departments")
    assert a.kind == "answer" and not a.text.startswith("COO:")


@pytest.mark.parametrize(("question", "says"), [
    ("date of the small business vp ops vs coo article", "Published Jan 19, 2024"),
    ("which site put out the coo vs operations director piece", "smallbusiness.management"),
    ("is there a website with more content along these lines?", "smallbusiness.management"),
])
def test_where_and_when_an_article_came_out(engine, question, says):
    a = engine.ask(question)
    assert a.kind == "answer" and says in a.text


def test_a_question_about_one_role_prefers_its_own_section_to_one_comparing_it(engine):
    a = engine.ask("vp of operations responsibilities")
    assert a.kind == "answer" and a.section == "Roles and Responsibilities of a VP Operations"
    assert set(engine.ask("vp ops vs coo responsibilities").about) == {"VP of Operations", "COO"}
