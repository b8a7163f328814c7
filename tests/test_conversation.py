"""Conversations: state per key with expiry and a size bound, follow-ups, clarification, reset."""

from __future__ import annotations

import io
import json

import pytest
from conftest import run_faqbot

from bot.chat import run_chat
from bot.cli import main
from bot.config import Settings
from bot.conversation import Conversations
from bot.engine import Topic

VP_SALARY = "VP Operations $150,000 – $250,000"
COO_SALARY = "COO $200,000 – $400,000+"
COO_SALARIES = (COO_SALARY, "the average salary for a COO is $132,974 per year")  # two articles say


def about_coo_salary(text: str | None) -> bool:
    return bool(text) and any(s in text for s in COO_SALARIES)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- the state machine ----------------------------------------------------------------------------
def test_each_key_has_its_own_conversation(engine):
    conversations = Conversations(engine.settings)
    conversations.ask(engine, ("chan", "alice"), "vp ops salary?")
    conversations.ask(engine, ("chan", "bob"), "what does a head of operations do")
    alice = conversations.ask(engine, ("chan", "alice"), "what about the coo?")
    bob = conversations.ask(engine, ("chan", "bob"), "and do they manage inventory?")
    assert about_coo_salary(alice.text)
    assert "inventory management" in bob.text
    assert alice.about == ("COO",) and "Head of Operations" in bob.about


def test_conversation_expires_after_the_quiet_period(engine):
    clock = Clock()
    conversations = Conversations(Settings(session_ttl_seconds=600), clock=clock)
    conversations.ask(engine, "k", "vp ops salary?")
    clock.now += 599
    assert conversations.get("k").topic is not None
    clock.now += 601
    assert conversations.get("k").topic is None
    answer = conversations.ask(engine, "k", "what about the coo?")
    assert not answer.used_context


def test_conversations_are_bounded_oldest_dropped_first(engine):
    clock = Clock()
    conversations = Conversations(Settings(max_sessions=3), clock=clock)
    for key in "abcd":
        clock.now += 1
        conversations.ask(engine, key, "vp ops salary?")
    assert len(conversations) == 3
    assert conversations.get("a").topic is None  # "a" was dropped...
    assert conversations.get("d").topic is not None  # ...not the newest


def test_expired_conversations_do_not_count(engine):
    clock = Clock()
    conversations = Conversations(Settings(session_ttl_seconds=10), clock=clock)
    conversations.ask(engine, "a", "hi")
    clock.now += 11
    assert len(conversations) == 0


def test_reset_forgets_the_topic(engine):
    conversations = Conversations(engine.settings)
    conversations.ask(engine, "k", "vp ops salary?")
    assert conversations.reset("k") is True
    assert conversations.reset("k") is False
    assert not conversations.ask(engine, "k", "what about the coo?").used_context


def test_small_talk_and_unknown_keep_the_topic(engine):
    conversations = Conversations(engine.settings)
    conversations.ask(engine, "k", "vp ops salary?")
    assert conversations.ask(engine, "k", "thanks!").kind == "smalltalk"
    assert conversations.ask(engine, "k", "what is the best pizza topping").kind == "unknown"
    answer = conversations.ask(engine, "k", "what about the coo?")
    assert answer.used_context and about_coo_salary(answer.text)


def test_give_me_an_example_is_help_alone_and_asks_for_an_example_in_a_conversation(engine):
    conversations = Conversations(engine.settings)
    assert conversations.ask(engine, "k", "give me an example").kind == "smalltalk"
    conversations.ask(engine, "k", "ops manager vs coo decision making")
    answer = conversations.ask(engine, "k", "give me an example")
    assert answer.kind == "answer" and answer.used_context
    assert "For example" in answer.text and answer.about == ("Operations Manager", "COO")


def test_an_unanswered_question_about_a_covered_role_becomes_the_topic(engine):
    conversations = Conversations(engine.settings)
    conversations.ask(engine, "k", "vp ops salary?")
    assert conversations.ask(engine, "k", "does the coo own a yacht").kind == "unknown"
    assert conversations.get("k").topic.roles == ("role_coo",)
    answer = conversations.ask(engine, "k", "what about the vp of operations?")
    assert not about_coo_salary(answer.text) and VP_SALARY not in (answer.text or "")  # not the salary again


def test_words_no_article_uses_are_still_a_subject_of_their_own(engine):
    salary = Topic(("role_vp_of_operations",), ("salary",))
    answer = engine.ask("does the coo own a yacht", salary)
    assert answer.kind == "unknown" and not answer.used_context  # not "does the coo own a yacht salary"
    benefits = Topic(("role_vp_of_operations",), ("benefits", "small business"))
    assert engine.ask("and what extra does a coo bring", benefits).used_context  # elliptical: it is borrowed


def test_not_remembering_leaves_the_conversation_as_it_was(engine):
    conversations = Conversations(engine.settings)
    conversations.ask(engine, "k", "vp ops salary?")
    conversations.ask(engine, "k", "what does a head of operations do", remember=False)
    answer = conversations.ask(engine, "k", "what about the coo?")
    assert about_coo_salary(answer.text)  # still about salary, not about the head of operations


# -- follow-ups ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("first", "follow_up", "expected"), [
    ("what does a coo do", "and how much do they make?", COO_SALARIES),
    ("vp ops salary?", "what about the coo?", COO_SALARIES),
    ("what's a head of operations responsible for", "how is that different from a coo?",
     ("One of the key differences between a Head of Operations and a COO lies in their areas of focus.",)),
    ("who does an operations manager report to", "do they need a degree?",
     ("Operations managers typically need at least a bachelor’s degree",)),
    ("is the coo at the top of the operational hierarchy", "could they end up taking over from the ceo?",
     ("often seen as a potential successor",)),
])
def test_follow_ups_are_understood_in_context(engine, first, follow_up, expected):
    conversations = Conversations(engine.settings)
    conversations.ask(engine, "k", first)
    answer = conversations.ask(engine, "k", follow_up)
    assert answer.kind == "answer" and answer.used_context
    assert any(e in answer.text for e in expected)


def test_a_self_contained_question_is_not_pulled_back_to_the_old_topic(engine):
    conversations = Conversations(engine.settings)
    conversations.ask(engine, "k", "what are a vp of operations' main responsibilities")
    answer = conversations.ask(engine, "k", "what is the average salary for an operations manager")
    assert not answer.used_context
    assert "The average salary for an operations manager is $75,844 per year" in answer.text


@pytest.mark.parametrize("question", ["who does a vp of operations report to", "what does a coo have to answer to"])
def test_a_question_asking_for_the_object_of_its_final_to_stands_on_its_own(engine, question):
    certifications = Topic(("role_operations_manager",), ("certifications",))
    assert not engine.ask(question, certifications).used_context


def test_a_final_to_that_leaves_the_verb_out_is_a_follow_up(engine):
    hiring = Topic(("role_operations_manager",), ("hire", "fire"))
    answer = engine.ask("is the coo able to?", hiring)
    assert answer.used_context and answer.resolved.endswith("hire fire")


@pytest.mark.parametrize("follow_up", ["how much does that role pay", "what does this job pay"])
def test_that_role_means_the_person_not_the_old_subject(engine, follow_up):
    skills = Topic(("role_operations_manager",), ("skills", "need"))
    answer = engine.ask(follow_up, skills)
    assert answer.used_context and answer.about == ("Operations Manager",)
    assert "skills" not in answer.resolved
    assert "The average salary for an operations manager is $75,844 per year" in answer.text


def test_which_of_them_asks_about_the_people_not_the_last_subject(engine):
    conversations = Conversations(engine.settings)
    conversations.ask(engine, "k", "vp ops vs coo")
    assert conversations.ask(engine, "k", "which one earns more?").section == "Salary Comparison"
    answer = conversations.ask(engine, "k", "which of them reports to the ceo?")
    assert answer.used_context and "salary" not in answer.resolved
    assert answer.section == "Authority and Reporting", "a new subject, not more of the salary table"


@pytest.mark.parametrize("follow_up", ["how do i choose between them", "do both need a degree", "who earns more",
                                       "who decides strategy between the two"])
def test_both_and_between_them_mean_the_roles_of_the_last_two_turns(engine, follow_up):
    vp, coo = "role_vp_of_operations", "role_coo"
    assert engine.ask(follow_up, Topic((vp,), ("hire",))).about == ("VP of Operations",)
    answer = engine.ask(follow_up, Topic((vp,), ("hire",), frame=(vp, coo)))
    assert answer.used_context and set(answer.about) == {"VP of Operations", "COO"}


def test_the_frame_holds_the_roles_of_this_turn_and_the_one_before(engine):
    conversations = Conversations(engine.settings)
    conversations.ask(engine, "k", "why would a small business hire a coo")
    assert conversations.get("k").topic.frame == ("role_coo",)
    conversations.ask(engine, "k", "and what does a vp of operations do?")
    assert conversations.get("k").topic.frame == ("role_vp_of_operations", "role_coo")
    answer = conversations.ask(engine, "k", "how do i choose between them")
    assert set(answer.about) == {"VP of Operations", "COO"}
    conversations.ask(engine, "k", "what does an operations director do")
    assert conversations.get("k").topic.frame == ("role_operations_director", "role_vp_of_operations")


@pytest.mark.parametrize("follow_up", ["how does a coo compare", "is a coo different?", "vs a coo?",
                                       "is that more than a coo?"])
def test_a_comparison_naming_one_role_compares_it_with_the_roles_discussed(engine, follow_up):
    answer = engine.ask(follow_up, Topic(("role_vp_of_operations",), ("salary",)))
    assert answer.used_context and set(answer.about) == {"COO", "VP of Operations"}
    assert VP_SALARY in answer.text and COO_SALARY in answer.text  # the salaries, compared


def test_different_without_a_comparison_is_not_one(engine):
    question = "in a small organisation does the coo take on lots of different jobs"
    assert not engine.ask(question, Topic(("role_vp_of_operations",), ("salary",))).used_context


@pytest.mark.parametrize("follow_up", ["is it the same for a vp of operations?",
                                       "same question for a vp of operations"])
def test_the_same_for_another_role_asks_the_old_question_about_it(engine, follow_up):
    answer = engine.ask(follow_up, Topic(("role_coo",), ("salary",)))
    assert answer.used_context and answer.about == ("VP of Operations",)
    assert "same" not in answer.resolved and answer.resolved.endswith("salary")
    assert VP_SALARY in answer.text


@pytest.mark.parametrize(("first", "question"), [
    ("vp ops salary?", "what does a coo do"),
    ("vp ops salary?", "who is the coo"),
    ("what degree does an operations manager need", "also what's the vp of operations salary"),
    ("what degree does an operations manager need", "then what is the salary of an ops manager"),
    ("how much does a coo earn", "so the coo reports to the ceo?"),
    ("how much does a coo earn", "and who does an operations manager report to"),
])
def test_a_whole_question_naming_a_role_is_new_even_after_and_so_also(engine, first, question):
    conversations = Conversations(engine.settings)
    conversations.ask(engine, "k", first)
    answer = conversations.ask(engine, "k", question)
    assert not answer.used_context
    assert answer.text == engine.ask(question).text


@pytest.mark.parametrize("question", ["is it true that the coo reports to the ceo", "what is it like to be a coo",
                                      "is it common for a vp of operations to report to the coo",
                                      "what does it take to become a coo",
                                      "how does a vp of operations make sure that processes are efficient"])
def test_it_and_that_pointing_at_nothing_said_leave_the_question_alone(engine, question):
    answer = engine.ask(question, Topic(("role_operations_manager",), ("salary",)))
    assert not answer.used_context and answer.text == engine.ask(question).text


@pytest.mark.parametrize("follow_up", ["is it higher for a coo?", "is that more than a coo gets"])
def test_a_comparison_with_a_named_role_brings_the_old_roles_and_subject(engine, follow_up):
    answer = engine.ask(follow_up, Topic(("role_operations_manager",), ("salary",)))
    assert answer.used_context and set(answer.about) == {"COO", "Operations Manager"}
    assert answer.resolved.endswith("Operations Manager salary")


@pytest.mark.parametrize("follow_up", ["can a coo do that", "does that apply to a coo too",
                                       "does the coo do that too?"])
def test_that_with_a_named_role_asks_the_old_subject_of_that_role(engine, follow_up):
    answer = engine.ask(follow_up, Topic(("role_operations_manager",), ("salary",)))
    assert answer.used_context and answer.about == ("COO",)
    assert answer.resolved.endswith("salary") and "Operations Manager" not in answer.resolved


@pytest.mark.parametrize("follow_up", ["and the coo?", "the coo?", "coo too?", "what about the coo?",
                                       "how about the coo, is it higher?", "and what extra does a coo get"])
def test_an_elliptical_question_naming_a_role_keeps_the_subject(engine, follow_up):
    answer = engine.ask(follow_up, Topic(("role_vp_of_operations",), ("salary",)))
    assert answer.used_context and answer.resolved.endswith("salary")


def test_compound_question_can_answer_with_two_passages(engine):
    answer = engine.ask("what does an operations director do and what does a head of operations do")
    assert answer.kind == "answer"
    assert len(answer.text) <= engine.settings.max_passage_chars


HEAD_DOC = "head-of-operations-vs-coo.txt"
SMALL_BUSINESS_DOC = "vp-of-operations-vs-coo-small-business.txt"
VP_BENEFITS = "The Benefits of Hiring a VP of Operations"


def test_a_follow_up_on_the_same_role_prefers_the_section_just_shown(engine):
    question, section = "are they responsible for strategy", "Chief Operating Officer (COO)"
    elsewhere = engine.ask(question, Topic(("role_coo",)))
    shown = engine.ask(question, Topic(("role_coo",), source=HEAD_DOC, section=section))
    assert elsewhere.section != section  # the section wins only with the context
    assert shown.used_context and (shown.source, shown.section) == (HEAD_DOC, section)
    # the preference changes the order, not the confidence: that is the passage's own
    query = engine.retriever.analyzer.query(shown.resolved)
    hit = next(h for h in engine.retriever.retrieve(query, k=10) if h.passage.text == shown.text)
    assert shown.score == pytest.approx(engine.confidence(hit, query))


def test_they_doing_something_with_a_named_role_is_answered_about_them(engine):
    director = Topic(("role_operations_director",), ("responsibilities",))
    answer = engine.ask("do they work closely with the coo?", director)
    assert answer.used_context and answer.section == "The Role of an Operations Director"
    assert answer.about == ("Operations Director",)  # the coo is what is asked of them


def test_a_follow_up_the_articles_answer_only_for_other_roles_says_so(engine):
    conv = Conversations(engine.settings)
    conv.ask(engine, "u", "head of ops responsibilities")
    answer = conv.ask(engine, "u", "and their pay?")
    assert answer.kind == "unknown" and answer.used_context and answer.about == ("Head of Operations",)
    assert "don't say that for the Head of Operations" in answer.reply  # not the COO's salary
    assert about_coo_salary(conv.ask(engine, "u", "what about a coo?").text)  # the question asked last


def test_a_question_announced_as_a_new_topic_leaves_the_old_one(engine):
    conv = Conversations(engine.settings)
    conv.ask(engine, "u", "who does a vp of ops report to?")
    answer = conv.ask(engine, "u", "ok new topic, what does an operations director do?")
    alone = engine.ask("what does an operations director do?")
    assert not answer.used_context and answer.text == alone.text and answer.topic == alone.topic
    assert answer.question == "ok new topic, what does an operations director do?"
    after = conv.ask(engine, "u", "and their salary?")  # "their": the new topic's role
    assert after.used_context and after.about == ("Operations Director",)


def test_the_same_for_another_role_after_asking_what_a_role_does_asks_what_that_one_does(engine):
    conv = Conversations(engine.settings)
    first = conv.ask(engine, "u", "what does a coo do")
    same = conv.ask(engine, "u", "same for a vp of ops?")
    alone = engine.ask("what does a vp of ops do")
    assert first.kind == same.kind == "answer" and same.text == alone.text  # not a passage on similarities
    assert same.topic.subject == ()


def test_a_question_naming_its_role_gets_no_section_preference(engine):
    question = "could a head of operations become ceo one day"
    shown = Topic(("role_head_of_operations",), source=HEAD_DOC, section="Head of Operations")
    answer = engine.ask(question, shown)
    assert not answer.used_context and answer.section == engine.ask(question).section


@pytest.mark.parametrize("follow_up", ["and the coo?", "what about a coo"])
def test_a_follow_up_on_another_role_moves_away_from_the_passage_shown(engine, follow_up):
    shown = Topic(("role_vp_of_operations",), ("benefits", "small business"), SMALL_BUSINESS_DOC, VP_BENEFITS)
    answer = engine.ask(follow_up, shown)
    assert answer.kind == "answer" and answer.used_context and answer.about == ("COO",)
    assert answer.section != VP_BENEFITS and "COO" in answer.text


def test_a_follow_up_asking_the_same_of_another_role_stays_in_a_section_on_both(engine):
    conv = Conversations(engine.settings)
    first = conv.ask(engine, "u", "do ops managers need a bachelors")
    assert first.section == "Job Requirements"  # on operations managers and COOs
    answer = conv.ask(engine, "u", "and coos?")
    assert answer.used_context and answer.section == "Job Requirements"
    assert "COOs usually have a more extensive educational background" in answer.text


def test_a_short_question_whose_words_a_synonym_explains_keeps_the_role(engine):
    # "mba" also means education: the question still says only two things of its own
    conv = Conversations(engine.settings)
    conv.ask(engine, "u", "what degree do ops managers usually have")
    answer = conv.ask(engine, "u", "is an mba needed?")
    assert answer.used_context and answer.about == ("Operations Manager",)
    assert "Master of Business Administration (MBA)" in answer.text


def test_telling_rather_than_asking_adds_to_the_question_before(engine):
    conv = Conversations(engine.settings)
    conv.ask(engine, "u", "how do i choose between a vp ops and a coo career")
    answer = conv.ask(engine, "u", "i like being hands-on")
    assert answer.used_context and "choose" in answer.resolved
    assert "enjoy hands-on management" in answer.text


@pytest.mark.parametrize("follow_up", ["what quals would i need for it", "which industries would hire me for that"])
def test_needing_or_hiring_for_it_means_the_role_not_the_old_subject(engine, follow_up):
    answer = engine.ask(follow_up, Topic(("role_vp_of_operations",), ("networking",)))
    assert answer.used_context and answer.about == ("VP of Operations",)
    assert "networking" not in answer.resolved


def test_a_new_condition_asks_the_question_before_again(engine):
    conv = Conversations(engine.settings)
    conv.ask(engine, "u", "which one should i hire first for a small business, a vp of ops or a coo")
    answer = conv.ask(engine, "u", "and if we are growing fast?")
    assert answer.used_context and "hire" in answer.resolved and "small business" in answer.resolved
    assert "Choosing between a VP of Operations and a COO" in answer.text


def test_a_move_to_another_role_prefers_its_section_in_the_article_just_shown(engine):
    conv = Conversations(engine.settings)
    first = conv.ask(engine, "u", "head of ops key responsibilities")
    assert first.source == "head-of-operations-vs-coo.txt" and first.section == "Head of Operations"
    answer = conv.ask(engine, "u", "and the coo's?")
    assert answer.used_context and answer.about == ("COO",)
    assert (answer.source, answer.section) == ("head-of-operations-vs-coo.txt", "Chief Operating Officer (COO)")
    # asked alone, the same words go to the article about the COO's responsibilities
    alone = engine.ask("the coo's key responsibilities")
    assert alone.source != "head-of-operations-vs-coo.txt"


def test_a_whole_question_going_on_to_another_role_stays_in_the_article_just_shown(engine):
    conv = Conversations(engine.settings)
    first = conv.ask(engine, "u", "does a head of operations manage resources")
    assert first.source == "head-of-operations-vs-coo.txt"
    answer = conv.ask(engine, "u", "and the coo, what's their big focus?")
    assert not answer.used_context and answer.about == ("COO",)  # its own question, nothing added
    assert (answer.source, answer.section) == ("head-of-operations-vs-coo.txt", "Chief Operating Officer (COO)")
    assert engine.ask("and the coo, what's their big focus?").source != "head-of-operations-vs-coo.txt"
    # without "and" it is a new question, ranked as if asked alone
    conv.ask(engine, "v", "does a head of operations manage resources")
    assert conv.ask(engine, "v", "what does a coo do").source == engine.ask("what does a coo do").source


def test_setting_a_role_against_the_one_before_compares_the_two(engine):
    conv = Conversations(engine.settings)
    conv.ask(engine, "u", "ops director key responsibilities")
    answer = conv.ask(engine, "u", "so what does the coo focus on instead")
    assert answer.used_context and set(answer.about) == {"COO", "Operations Director"}


def test_json_batch_follow_ups_rank_by_the_passage_shown(shared_knowledge, monkeypatch):
    lines = [
        {"id": 1, "question": "what does a head of operations do", "session": "a"},
        {"id": 2, "question": "could they end up as ceo one day", "session": "a"},
        {"id": 3, "question": "benefits of a vp of operations for a small business", "session": "b"},
        {"id": 4, "question": "and the coo?", "session": "b"},
    ]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(json.dumps(x) for x in lines) + "\n"))
    out = io.StringIO()
    assert main(["ask", "--json", "--knowledge", str(shared_knowledge)], out=out) == 0
    results = {r["id"]: r for r in map(json.loads, out.getvalue().splitlines())}
    assert results[1]["section"] == results[2]["section"] == "Head of Operations"
    assert results[3]["section"] == VP_BENEFITS
    assert results[4]["section"] != VP_BENEFITS and "COO" in results[4]["answer"]


# -- clarification ------------------------------------------------------------------------------
def test_ambiguous_question_offers_choices_and_a_number_picks_one(engine):
    conversations = Conversations(engine.settings)
    answer = conversations.ask(engine, "k", "salary?")
    assert len(answer.choices) >= 2
    assert "Did you mean" in answer.reply
    labels = [c.label for c in answer.choices]
    assert len({c.text for c in answer.choices}) == len(labels)
    for number, choice in enumerate(answer.choices, start=1):
        assert f"{number}. {choice.label}" in answer.reply
    vp = next(i for i, c in enumerate(answer.choices, start=1) if VP_SALARY in c.text)
    picked = conversations.ask(engine, "k", str(vp))
    assert picked.kind == "answer" and VP_SALARY in picked.text


def test_the_picked_choice_becomes_the_topic(engine):
    conversations = Conversations(engine.settings)
    offered = conversations.ask(engine, "k", "salary?")
    vp = next(i for i, c in enumerate(offered.choices, start=1) if VP_SALARY in c.text)
    picked = conversations.ask(engine, "k", str(vp))
    topic = conversations.get("k").topic
    assert "role_vp_of_operations" in topic.roles and topic.subject == ("salary",)
    assert "VP of Operations" in picked.about and topic.section == picked.section
    follow_up = conversations.ask(engine, "k", "and what degree do they need?")
    assert follow_up.used_context and "VP of Operations" in follow_up.about


@pytest.mark.parametrize("reply", ["²", "1" * 5000, "0", "99"])
def test_odd_numbers_after_an_offer_pick_nothing_and_break_nothing(engine, reply):
    conversations = Conversations(engine.settings)
    assert conversations.ask(engine, "k", "salary?").choices
    answer = conversations.ask(engine, "k", reply)
    assert answer.kind in {"unknown", "answer", "smalltalk"} and answer.reply


def test_a_number_without_an_offer_is_just_a_question(engine):
    conversations = Conversations(engine.settings)
    assert conversations.ask(engine, "k", "2").kind == "unknown"


def test_a_question_naming_its_role_gets_no_choices(engine):
    assert engine.ask("ops manager salary?").choices == ()


# -- front ends ---------------------------------------------------------------------------------
def test_json_batch_sessions_share_context_in_order(shared_knowledge, monkeypatch):
    lines = [
        {"id": 1, "question": "vp ops salary?", "session": "s1"},
        {"id": 2, "question": "what does a head of operations do", "session": "s2"},
        {"id": 3, "question": "what about the coo?", "session": "s1"},
        {"id": 4, "question": "what about the coo?"},  # no session: no context
    ]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(json.dumps(x) for x in lines) + "\n"))
    out = io.StringIO()
    assert main(["ask", "--json", "--knowledge", str(shared_knowledge)], out=out) == 0
    results = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["id"] for r in results] == [1, 2, 3, 4]
    assert VP_SALARY in results[0]["answer"]
    assert about_coo_salary(results[2]["answer"])
    assert not about_coo_salary(results[3]["answer"])


def test_json_batch_sessions_resolve_plurals_comparisons_switches_and_picks(engine, shared_knowledge, monkeypatch):
    turns = [
        ("plural", "why would a small business hire a coo"), ("plural", "what about a vp of operations"),
        ("plural", "how do i choose between them"),
        ("compare", "vp ops salary?"), ("compare", "how does a coo compare"),
        ("switch", "vp ops salary?"), ("switch", "and what does a coo do?"),
        ("role", "what skills does an operations manager need"), ("role", "how much does that role pay"),
        ("pick", "salary?"), ("pick", "PICK"), ("pick", "and what degree do they need?"),
    ]
    # the number of the VP of Operations' salary among the choices "salary?" offers
    offered = next(i for i, c in enumerate(engine.ask("salary?").choices, start=1) if VP_SALARY in c.text)
    lines = [{"id": i, "question": str(offered) if q == "PICK" else q, "session": s} for i, (s, q) in enumerate(turns)]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(json.dumps(x) for x in lines) + "\n"))
    out = io.StringIO()
    assert main(["ask", "--json", "--knowledge", str(shared_knowledge)], out=out) == 0
    results = [json.loads(line) for line in out.getvalue().splitlines()]
    answers = [r["answer"] or "" for r in results]
    assert "VP of Operations" in answers[2] and "COO" in answers[2]  # "them": both roles
    assert VP_SALARY in answers[4] and COO_SALARY in answers[4]  # compared on the salary
    assert "COO" in answers[6] and not about_coo_salary(answers[6])  # a new question, not the salary
    assert "The average salary for an operations manager is $75,844 per year" in answers[8]
    assert VP_SALARY in answers[10]
    assert "degree" in answers[11] and results[11]["source"] == results[10]["source"]  # from the role picked


def test_json_batch_follow_ups_in_a_subprocess(shared_knowledge):
    batch = "\n".join(json.dumps({"id": i, "question": q, "session": "d"}) for i, q in
                      enumerate(["what does a coo do", "and how much do they make?"])) + "\n"
    result = run_faqbot("ask", "--json", "--knowledge", str(shared_knowledge), cwd=shared_knowledge.parent,
                        input=batch)
    assert result.returncode == 0, result.stderr
    second = json.loads(result.stdout.splitlines()[1])
    assert about_coo_salary(second["answer"])


def test_chat_shows_when_it_used_context_and_reset_forgets(engine, monkeypatch):
    inputs = iter(["vp ops salary?", "what about the coo?", "/reset", "what about the coo?", "/quit"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(inputs))
    out = io.StringIO()
    assert run_chat(engine, io.StringIO(), out, interactive=True) == 0
    text = out.getvalue()
    _, rest = text.split("(about: COO)", 1)
    assert about_coo_salary(rest.split("Okay, starting over.")[0])
    after_reset = rest.split("Okay, starting over.")[1]
    assert "(about:" not in after_reset


def test_chat_picks_a_choice_by_number(engine):
    offered = engine.ask("salary?")
    out = io.StringIO()
    run_chat(engine, io.StringIO("salary?\n2\n"), out, interactive=False)
    text = out.getvalue()
    assert text.startswith(offered.reply)
    assert offered.choices[1].text in text[len(offered.reply):]


def test_the_vp_in_a_conversation_about_the_vp_of_operations_is_that_role(engine):
    topic = Topic(("role_coo",), ("production", "logistics"), frame=("role_coo", "role_vp_of_operations"))
    answer = engine.ask("who does the vp report to", topic)
    assert answer.resolved == "who does the VP of Operations report to"
    assert "A VP Operations typically reports to the COO" in answer.text
    assert engine.ask("who does the vp report to").resolved is None  # no conversation: no role to name


def test_a_follow_up_pointing_at_the_table_shown_is_answered_from_it(engine):
    conversations = Conversations(engine.settings)
    shown = conversations.ask(engine, "u1", "key differences at a glance vp ops coo")
    assert shown.section == "Key Differences at a Glance"
    # Another table ("Table: Key Differences between VP Operations and COO") also has a reporting row.
    pointed = conversations.ask(engine, "u1", "who does the vp report to in that table")
    assert pointed.kind == "answer" and pointed.section == "Key Differences at a Glance"
    assert "Reports to the COO" in pointed.text
