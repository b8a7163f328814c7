"""The on-disk index: build it from the knowledge folder, save it safely, load it without trust.

Layout of ``<knowledge>/.index/`` (or ``--index DIR``):

* ``index.json``  the manifest: format version, fingerprint of the sources, library versions,
  settings, passages, vocabulary... and the name and SHA-256 of the arrays file;
* ``arrays-<id>.npz`` sparse matrices and vectors, read with ``allow_pickle=False``.

Nothing is ever unpickled. A rebuild writes a new arrays file, then swaps the manifest with
``os.replace``; a rebuild that dies at any point leaves the previous manifest and the arrays it
names untouched. A lock file keeps two rebuilds from interleaving.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nltk
import numpy as np
import scipy
import sklearn

from bot import __version__
from bot.analysis import Analyzer
from bot.config import Settings
from bot.ingest import describe, iter_sources, load_folder
from bot.retriever import TfidfRetriever, Weights
from bot.vocabulary import VOCABULARY_FILE, Vocabulary

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "index.json"
INDEX_DIRNAME = ".index"
# Settings an index is built (and calibrated) with; changing one rebuilds the index. The
# calibration is stored with the index because confidences are only meaningful for the scores
# of the build they were fitted on.
INDEX_SETTINGS = (
    "max_passage_chars", "pack_sections", "bigrams", "weight_body", "weight_sentence", "weight_context",
    "role_floor", "coverage_floor", "lead_weight", "focus_bonus", "threshold", "confidence_weights", "confidence_bias",
)


class KnowledgeError(RuntimeError):
    """The knowledge folder is missing or holds nothing faqbot can read."""


class IndexLoadError(RuntimeError):
    """The saved index is missing, unreadable, inconsistent or from another format."""


class IndexMissing(IndexLoadError):
    """There is no saved index (yet)."""


def library_versions() -> dict[str, str]:
    return {"faqbot": __version__, "scikit-learn": sklearn.__version__, "nltk": nltk.__version__,
            "numpy": np.__version__, "scipy": scipy.__version__, "format": str(FORMAT_VERSION)}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fingerprint(knowledge: Path, settings: Settings) -> str:
    """Hash of everything an index is built from: source texts, vocabulary file, build settings."""
    digest = hashlib.sha256()
    for path in [*iter_sources(knowledge), knowledge / VOCABULARY_FILE]:
        try:
            content = path.read_bytes()
        except OSError:
            content = b"<unreadable>"
        digest.update(path.relative_to(knowledge).as_posix().encode() + b"\0" + _sha256(content).encode())
    build = {k: getattr(settings, k) for k in INDEX_SETTINGS}
    digest.update(json.dumps(build, sort_keys=True).encode())
    return digest.hexdigest()


@dataclass
class BuildReport:
    """What ``faqbot index`` prints."""

    documents: int
    passages_by_kind: dict[str, int]
    vocabulary: int
    seconds: float
    warnings: list[str]
    index_dir: Path

    def lines(self) -> list[str]:
        kinds = ", ".join(f"{k} {v}" for k, v in self.passages_by_kind.items())
        return [
            f"Indexed {self.documents} documents into {self.index_dir}",
            f"  passages:   {sum(self.passages_by_kind.values())} ({kinds})",
            f"  vocabulary: {self.vocabulary} terms",
            f"  took:       {self.seconds:.2f} s",
            *(f"  warning: {w}" for w in self.warnings),
        ]


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _lock(directory: Path, shared: bool = False) -> Iterator[None]:
    """Lock the index folder: writers exclusively (rebuilds take turns), readers shared (a reader
    never sees a manifest whose arrays file a concurrent rebuild has just removed)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: os.replace still keeps each write whole
        yield
        return
    try:
        fh = open(directory / ".lock", "a+b")  # noqa: SIM115 - closed below
    except OSError:  # a read-only index folder: nobody can be writing to it through us
        yield
        return
    with fh:
        fcntl.flock(fh, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class IndexStore:
    """Reads and writes one index folder."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    @property
    def manifest_path(self) -> Path:
        return self.directory / MANIFEST

    def read_manifest(self) -> dict[str, Any]:
        try:
            manifest = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise IndexMissing("no index yet") from exc
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise IndexLoadError(f"unreadable manifest ({exc})") from exc
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
            raise IndexLoadError(f"index format {manifest.get('format') if isinstance(manifest, dict) else '?'}"
                                 f" is not {FORMAT_VERSION}")
        return manifest

    def read(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        if not self.manifest_path.exists():
            raise IndexMissing("no index yet")
        with _lock(self.directory, shared=True):
            return self._read()

    def _read(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        manifest = self.read_manifest()
        name = manifest.get("arrays")
        if not isinstance(name, str) or "/" in name or not name.endswith(".npz"):
            raise IndexLoadError("manifest names no arrays file")
        try:
            data = (self.directory / name).read_bytes()
        except OSError as exc:
            raise IndexLoadError(f"missing arrays file {name}") from exc
        if _sha256(data) != manifest.get("arrays_sha256"):
            raise IndexLoadError(f"arrays file {name} does not match its checksum")
        try:
            import io

            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except (ValueError, OSError, KeyError) as exc:
            raise IndexLoadError(f"unreadable arrays file {name} ({exc})") from exc
        return manifest, arrays

    def write(self, manifest: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Write arrays under a fresh name, then swap the manifest in; old files go last."""
        import io

        self.directory.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        data = buf.getvalue()
        name = f"arrays-{_sha256(data)[:16]}.npz"
        with _lock(self.directory):
            _atomic_write(self.directory / name, data)
            manifest = {**manifest, "format": FORMAT_VERSION, "arrays": name, "arrays_sha256": _sha256(data)}
            _atomic_write(self.manifest_path, json.dumps(manifest, ensure_ascii=False).encode("utf-8"))
            for old in self.directory.glob("arrays-*.npz"):
                if old.name != name:
                    with contextlib.suppress(OSError):
                        old.unlink()


def default_index_dir(knowledge: Path) -> Path:
    return knowledge / INDEX_DIRNAME


def _retriever_for(knowledge: Path, settings: Settings) -> TfidfRetriever:
    vocabulary = Vocabulary.load(knowledge / VOCABULARY_FILE)
    weights = Weights(
        body=settings.weight_body, sentence=settings.weight_sentence, context=settings.weight_context,
        role_floor=settings.role_floor, coverage_floor=settings.coverage_floor, lead=settings.lead_weight,
        focus=settings.focus_bonus,
    )
    return TfidfRetriever(Analyzer(vocabulary, bigrams=settings.bigrams), weights)


def check_knowledge(knowledge: Path) -> None:
    if not knowledge.exists():
        raise KnowledgeError(f"knowledge folder not found: {knowledge}")
    if not knowledge.is_dir():
        raise KnowledgeError(f"knowledge path is not a folder: {knowledge}")


def build_index(knowledge: Path, index_dir: Path | None, settings: Settings,
                must_save: bool = True) -> tuple[TfidfRetriever, BuildReport]:
    """Build the index from the knowledge folder and save it.

    With ``must_save=False`` (automatic rebuilds) a folder that cannot be written is only a
    warning: the bot answers from the index in memory.
    """
    check_knowledge(knowledge)
    started = time.perf_counter()
    passages, warnings = load_folder(knowledge, settings.max_passage_chars, settings.pack_sections)
    for warning in warnings:
        log.warning("%s", warning)
    if not passages:
        raise KnowledgeError(f"no readable .txt or .md articles in {knowledge}")
    retriever = _retriever_for(knowledge, settings).index(passages)
    state, arrays = retriever.to_state()
    index_dir = index_dir or default_index_dir(knowledge)
    manifest = {
        "fingerprint": fingerprint(knowledge, settings),
        "versions": library_versions(),
        "built_at": time.time(),
        "calibration": {k: getattr(settings, k) for k in ("threshold", "confidence_weights", "confidence_bias")},
        "retriever": state,
    }
    try:
        IndexStore(index_dir).write(manifest, arrays)
    except OSError as exc:
        if must_save:
            raise
        log.warning("Could not save the index to %s (%s); using it from memory", index_dir, exc.strerror or exc)
    report = BuildReport(
        documents=len({p.source for p in passages}), passages_by_kind=describe(passages),
        vocabulary=len(retriever.vectorizer_.vocabulary_), seconds=time.perf_counter() - started,
        warnings=warnings, index_dir=index_dir,
    )
    return retriever, report


@dataclass
class LoadedIndex:
    retriever: TfidfRetriever
    calibration: dict[str, Any]
    built_at: float
    rebuilt: bool
    report: BuildReport | None = None


def load_index(knowledge: Path, index_dir: Path | None, settings: Settings,
               rebuild: bool = False) -> LoadedIndex:
    """The index for ``knowledge``: loaded when it is current, rebuilt (with one log line) when not."""
    check_knowledge(knowledge)
    index_dir = index_dir or default_index_dir(knowledge)
    store = IndexStore(index_dir)
    reason, level = ("rebuild requested", logging.INFO) if rebuild else (None, logging.INFO)
    if reason is None:
        try:
            manifest, arrays = store.read()
            if manifest.get("versions") != library_versions():
                reason, level = f"it was built with other library versions ({manifest.get('versions')})", \
                    logging.WARNING
            elif manifest.get("fingerprint") != fingerprint(knowledge, settings):
                reason = "knowledge changed"
            else:
                retriever = _retriever_for(knowledge, settings)
                retriever.load_state(manifest["retriever"], arrays)
                return LoadedIndex(retriever, dict(manifest["calibration"]),
                                   float(manifest.get("built_at", 0.0)), rebuilt=False)
        except IndexMissing as exc:
            reason = str(exc)
        except IndexLoadError as exc:
            reason, level = f"the saved index is damaged: {exc}", logging.WARNING
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            reason, level = f"the saved index is damaged ({type(exc).__name__}: {exc})", logging.WARNING
    log.log(level, "Rebuilding index in %s: %s", index_dir, reason)
    retriever, report = build_index(knowledge, index_dir, settings, must_save=False)
    calibration = {k: getattr(settings, k) for k in ("threshold", "confidence_weights", "confidence_bias")}
    return LoadedIndex(retriever, calibration, time.time(), rebuilt=True, report=report)
