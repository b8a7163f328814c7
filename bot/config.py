"""Every tunable knob in one place, with its default and what it does.

Values can be overridden per knowledge base in ``<knowledge>/faqbot.toml`` (any table name;
keys are the field names below). The calibration values are written there by
``scripts/benchmark.py --calibrate``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

CONFIG_FILE = "faqbot.toml"


class ConfigError(ValueError):
    """A config file is unreadable or holds an unknown key or a value of the wrong type."""


@dataclass(frozen=True)
class Settings:
    """faqbot's knobs. Defaults were chosen with ``scripts/benchmark.py`` on the bundled articles."""

    # -- ingestion -----------------------------------------------------------------------
    max_passage_chars: int = 1200  # longest passage shown as an answer; longer text is split
    pack_sections: bool = True  # a whole section is one passage when it fits in max_passage_chars

    # -- retrieval -----------------------------------------------------------------------
    bigrams: bool = True  # adjacent word pairs as extra terms
    weight_body: float = 0.45  # whole passage text
    weight_sentence: float = 0.25  # best single sentence / list item / table row (roles aside)
    weight_context: float = 0.2  # headings and FAQ question above the passage (roles aside)
    role_floor: float = 0.2  # multiplier for passages about none of the roles asked about
    coverage_floor: float = 0.1  # multiplier for passages holding none of the question's terms
    lead_weight: float = 0.4  # multiplier for lead-ins ("In this article, we will ...")
    section_lead_weight: float = 0.3  # multiplier for a section's lead-in ("there are some general traits ...")
    focus_bonus: float = 0.35  # bonus when a passage's heading names exactly the roles asked about
    title_focus_bonus: float = 0.2  # bonus, for a question about several roles, when the article's title
    # names exactly those roles (the article comparing them)

    # -- answering -----------------------------------------------------------------------
    top_k: int = 3  # alternatives returned with an answer
    threshold: float = 0.5  # answer only when the confidence is at least this
    # Confidence = logistic(bias + sum(weight * feature)); features (bot.engine.confidence_features):
    # score, content coverage, role match, off-topic job title, unknown word share, role miss.
    # Fitted by `scripts/benchmark.py --calibrate`; these defaults are its values on the bundled set.
    confidence_weights: tuple[float, ...] = (6.0, 2.5, 1.0, -3.5, -2.5, -3.0)
    confidence_bias: float = -1.5
    suggestions: int = 3  # topics offered with "I don't know"
    max_question_chars: int = 2000  # longer questions are refused with a clear message

    # -- conversation --------------------------------------------------------------------
    session_ttl_seconds: float = 600.0  # a conversation is forgotten after this quiet period
    max_sessions: int = 10_000  # oldest conversations are dropped beyond this
    clarify_margin: float = 0.35  # answers scoring within this fraction of the best but about
    # other roles, for a question naming no role ("salary?"): ask which one was meant

    # -- discord -------------------------------------------------------------------------
    auto_answer_threshold: float = 0.75  # confidence needed to answer unprompted in a channel
    cooldown_seconds: float = 3.0  # per-user pause between questions
    cooldown_burst: int = 3  # questions allowed back to back before the pause applies

    def with_overrides(self, **values: Any) -> Settings:
        """A copy with the given (non-None) values replaced, type-checked."""
        clean = {k: v for k, v in values.items() if v is not None}
        _check(clean, "overrides")
        return replace(self, **clean)


def _check(values: dict[str, Any], where: str) -> None:
    known = {f.name for f in fields(Settings)}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"{where}: unknown setting '{key}'")
        default = getattr(Settings(), key)
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif isinstance(default, float):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif isinstance(default, tuple):
            ok = isinstance(value, (list, tuple)) and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        else:
            ok = isinstance(value, type(default))
        if not ok:
            raise ConfigError(f"{where}: '{key}' should be like {default!r}, got {value!r}")


def load_settings(path: Path | None) -> Settings:
    """Settings from a TOML file (all tables are merged); defaults when the file is missing."""
    if path is None or not path.is_file():
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(value)
        else:
            flat[key] = value
    _check(flat, str(path))
    flat = {k: tuple(v) if isinstance(v, list) else v for k, v in flat.items()}
    return replace(Settings(), **flat)
