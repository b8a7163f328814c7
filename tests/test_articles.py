"""Questions about one article: finding the article a question names, and answering from it."""

from __future__ import annotations

import pytest

from bot.articles import read_reference

# Canonical titles, roles as role terms, as the engine passes them.
TITLES = {
    "director.txt": "role_coo vs role_operations_director - understanding the difference",
    "head.txt": "the differences between role_head_of_operations and role_coo in a business",
    "vp.txt": "role_vp_of_operations and role_coo - understanding the roles and responsibilities",
    "vp-small.txt": "the difference between role_vp_of_operations and role_coo in small business management",
}


@pytest.mark.parametrize(("text", "sources", "rest"), [
    ("in the role_head_of_operations comparison, how is the role_coo described", {"head.txt"},
     ", how is the role_coo described"),
    ("what's the role_coo 's job according to the role_head_of_operations article", {"head.txt"},
     "what's the role_coo 's job"),
    ("what are the duties of a role_coo in the article comparing it with an role_operations_director ?",
     {"director.txt"}, "what are the duties of a role_coo ?"),
    # the roles alone fit two articles: the one titled with little else, unless more words are said
    ("what's this role_vp_of_operations vs role_coo article about", {"vp.txt"}, "what's"),
    ("when was the small business vp vs role_coo post published", {"vp-small.txt"}, "when was published"),
    ("what is the article about role_vp_of_operations and role_coo in small business management",
     {"vp-small.txt"}, "what is in small business management"),
])
def test_the_article_a_question_names(text, sources, rest):
    found = read_reference(text, TITLES)
    assert found is not None and found.sources == sources and found.rest == rest


@pytest.mark.parametrize("text", [
    "what does a role_coo do",
    "salary comparison role_vp_of_operations vs role_coo",  # a comparison, no article named
    "gimme the role_vp_of_operations vs role_coo comparison table",  # a table in an article
    "what does the role_coo article say about pay",  # every article is about the coo
    "in the article, what does a role_coo earn",  # which article?
])
def test_no_article_is_named(text):
    assert read_reference(text, TITLES) is None


def test_asking_for_the_gist_is_told_apart():
    assert read_reference("tl;dr of the role_vp_of_operations vs role_coo piece?", TITLES).summary
    assert not read_reference("what's the role_vp_of_operations vs role_coo piece about?", TITLES).summary


# -- through the engine ------------------------------------------------------------------------
def test_a_question_about_one_article_is_answered_from_it(engine):
    a = engine.ask("How does the COO work with the CEO, according to the head of operations comparison?")
    assert a.kind == "answer" and a.source == "head-of-operations-vs-coo.txt"
    assert a.question == "How does the COO work with the CEO, according to the head of operations comparison?"
    b = engine.ask("what are the key responsibilities of a coo in the article comparing it with an ops director?")
    assert b.kind == "answer" and b.source == "coo-vs-operations-director.txt"
    assert "Key responsibilities of a COO include" in b.text


def test_what_an_article_is_about_is_its_opening_and_its_gist_its_conclusion(engine):
    about = engine.ask("what's the head of ops vs coo article about")
    assert about.source == "head-of-operations-vs-coo.txt" and "two key roles that often cause confusion" in about.text
    gist = engine.ask("tl;dr of the vp ops vs coo piece?")
    assert gist.source == "vp-operations-vs-coo.txt" and "In conclusion" in gist.text
    dated = engine.ask("when was the small biz vp of ops vs coo post published")
    assert "Published" in dated.text
