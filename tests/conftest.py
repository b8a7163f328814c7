"""Shared fixtures for the faqbot core test suite.

The real articles are always copied into a temporary folder first, so an index is never
written into the repository's ``knowledge/`` folder. Expensive things (the copy used read-only,
the engine built on it) are session-scoped; tests that change files get their own copy.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import CONFIG_FILE, load_settings
from bot.engine import Engine

REPO = Path(__file__).resolve().parent.parent
KNOWLEDGE = REPO / "knowledge"
ARTICLES = sorted(p.name for p in KNOWLEDGE.iterdir() if p.suffix in (".txt", ".md"))

# The question every front end must answer with the FAQ entry that says "yes".
BOTH_ROLES_QUESTION = "can one person be both VP Ops and COO"
BOTH_ROLES_ANSWER = "Yes, in some organizations"
UNRELATED_QUESTIONS = ["what is the best pizza topping", "how do i reverse a linked list in python"]


def copy_knowledge(dest: Path) -> Path:
    """A copy of the bundled knowledge folder (without any index built inside the repo)."""
    shutil.copytree(KNOWLEDGE, dest, ignore=shutil.ignore_patterns(".index", "__pycache__"))
    return dest


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def shared_knowledge(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session-wide copy of knowledge/: treat as read-only (its index is built once)."""
    return copy_knowledge(tmp_path_factory.mktemp("shared") / "knowledge")


@pytest.fixture
def knowledge_copy(tmp_path: Path) -> Path:
    """A private copy of knowledge/ that a test may edit."""
    return copy_knowledge(tmp_path / "knowledge")


@pytest.fixture(scope="session")
def engine(shared_knowledge: Path) -> Engine:
    """The engine on the real articles, with the settings the CLI would use."""
    settings = load_settings(shared_knowledge / CONFIG_FILE)
    return Engine.open(shared_knowledge, settings=settings)


@pytest.fixture(autouse=True)
def _restore_logging():
    """``bot.cli.main`` installs its own root handler; undo it after every test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(autouse=True)
def _no_env_knowledge(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests choose their knowledge folder explicitly; a developer's environment must not leak in."""
    monkeypatch.delenv("FAQBOT_KNOWLEDGE", raising=False)


@pytest.fixture(autouse=True)
def usage_db(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every test (and every ``faqbot`` it runs) records into its own temporary usage log, never
    into the user's data directory; recording is on, as it is by default."""
    path = tmp_path_factory.mktemp("usage") / "usage.sqlite3"
    monkeypatch.setenv("FAQBOT_DB", str(path))
    monkeypatch.setenv("FAQBOT_LOG", "on")
    monkeypatch.setenv("XDG_DATA_HOME", str(path.parent / "xdg"))  # should FAQBOT_DB ever be ignored
    return path


def run_faqbot(*args: str, cwd: Path, input: str | None = None, env: dict[str, str] | None = None,
               module: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``python -m bot ARGS`` (or any ``python`` command line when module=False) for real."""
    full_env = {k: v for k, v in os.environ.items() if k != "FAQBOT_KNOWLEDGE"}
    full_env.update(env or {})
    full_env.setdefault("PYTHONIOENCODING", "utf-8")
    cmd = [sys.executable, "-m", "bot", *args] if module else [sys.executable, *args]
    return subprocess.run(cmd, cwd=cwd, input=input, capture_output=True, text=True, encoding="utf-8",
                          env=full_env, timeout=timeout)
