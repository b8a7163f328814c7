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
import functools
import gc
import hashlib
import json
import logging
import mmap
import os
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from bot import __version__
from bot.analysis import ENGLISH_COUNT_STEPS, Analyzer
from bot.config import Settings
from bot.ingest import describe, iter_sources, load_folder
from bot.retriever import TfidfRetriever, Weights
from bot.textproc import (
    ANALYSIS_VERSION,
    STOP_WORDS,
    common_english_stems,
    english_words,
    pack_stems,
    remember_english,
    remember_stems,
    stem,
    stem_table,
)
from bot.vocabulary import VOCABULARY_FILE, Vocabulary

log = logging.getLogger(__name__)

# 2: matrices stored by term (CSC), indexed terms read from the vocabulary; 3: common English
# words' stems packed in one string, and how common English words are
FORMAT_VERSION = 3
MANIFEST = "index.json"
INDEX_DIRNAME = ".index"
# Settings an index is built (and calibrated) with; changing one rebuilds the index. The
# calibration is stored with the index because confidences are only meaningful for the scores
# of the build they were fitted on.
INDEX_SETTINGS = (
    "max_passage_chars", "pack_sections", "bigrams", "weight_body", "weight_sentence", "weight_context",
    "role_floor", "coverage_floor", "lead_weight", "section_lead_weight", "focus_bonus",
    "title_focus_bonus", "threshold", "confidence_weights", "confidence_bias",
)


class KnowledgeError(RuntimeError):
    """The knowledge folder is missing or holds nothing faqbot can read."""


class IndexLoadError(RuntimeError):
    """The saved index is missing, unreadable, inconsistent or from another format."""


class IndexMissing(IndexLoadError):
    """There is no saved index (yet)."""


class IndexOutdated(IndexLoadError):
    """The saved index is whole but in another format (written by another faqbot version)."""


def _installed(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


@functools.lru_cache(maxsize=1)
def library_versions() -> dict[str, str]:
    """Versions an index depends on. Read from package metadata: importing NLTK and
    scikit-learn just to ask their versions would cost a cold ``faqbot ask`` over a second."""
    return {"faqbot": __version__, "scikit-learn": _installed("scikit-learn"), "nltk": _installed("nltk"),
            "numpy": np.__version__, "scipy": _installed("scipy"), "format": str(FORMAT_VERSION),
            "analysis": str(ANALYSIS_VERSION), "pyspellchecker": _installed("pyspellchecker")}


def _earlier_stems(index_dir: Path) -> dict[str, str]:
    """The stems the index in ``index_dir`` recorded (its texts' and the common English words'),
    when it was built with these very libraries; {} otherwise. Rebuilding then need not ask
    NLTK for the 33,000 English words' stems again."""
    try:
        manifest = IndexStore(index_dir).read_manifest()
    except IndexLoadError:
        return {}
    if manifest.get("versions") != library_versions():
        return {}
    stems, packed = manifest.get("stems"), manifest.get("common_stems")
    if not isinstance(stems, dict) or not isinstance(packed, str):
        return {}
    parts = packed.split(" ") if packed else []
    found = dict(zip(parts[::2], parts[1::2], strict=False))
    found.update((w, t) for w, t in stems.items() if isinstance(w, str) and isinstance(t, str) and t)
    return found


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fingerprint(knowledge: Path, settings: Settings, known: dict[str, Any] | None = None,
                files: dict[str, list] | None = None) -> str:
    """Hash of everything an index is built from: source texts, vocabulary file, build settings.

    ``known``: the ``files`` an index recorded (path -> [size, mtime_ns, sha256]); a file whose
    size and modification time are unchanged, and which was last modified well before that
    index was built, is not read again (at 5,000 files, reading them all took a sixth of
    loading; as in git, "well before" keeps a file changed during the build from looking
    unchanged). ``files`` receives this run's entries.
    """
    digest = hashlib.sha256()
    known = known if isinstance(known, dict) else {}
    recorded = known.get("files") if isinstance(known.get("files"), dict) else {}
    built_at = known.get("built_at")
    trusted_before = int((built_at - 2.0) * 1e9) if isinstance(built_at, (int, float)) else 0
    for path in [*iter_sources(knowledge), knowledge / VOCABULARY_FILE]:
        rel = path.relative_to(knowledge).as_posix()
        try:
            st = path.stat()
            entry = recorded.get(rel)
            if isinstance(entry, list) and len(entry) == 3 and entry[:2] == [st.st_size, st.st_mtime_ns] \
                    and st.st_mtime_ns < trusted_before and isinstance(entry[2], str):
                sha = entry[2]
            else:
                sha = _sha256(path.read_bytes())
            if files is not None:
                files[rel] = [st.st_size, st.st_mtime_ns, sha]
        except OSError:
            sha = _sha256(b"<unreadable>")
        digest.update(rel.encode() + b"\0" + sha.encode())
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
        found = manifest.get("format") if isinstance(manifest, dict) else None
        if isinstance(found, int) and found != FORMAT_VERSION:
            raise IndexOutdated(f"it was saved in index format {found} by another faqbot version; "
                                f"this one uses format {FORMAT_VERSION}")
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
            raise IndexLoadError(f"index format {manifest.get('format') if isinstance(manifest, dict) else '?'}"
                                 f" is not {FORMAT_VERSION}")
        return manifest

    def read(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        manifest, arrays, check = self.read_checking()
        check()
        return manifest, arrays

    def read_checking(self) -> tuple[dict[str, Any], dict[str, np.ndarray], Callable[[], None]]:
        """``read``, with the arrays file's checksum still being worked out: the arrays may be
        looked at (nothing in them can run code), but call the third item, which raises
        ``IndexLoadError`` on a mismatch, before trusting them. Hashing a large index took a
        seventh of loading it; meanwhile the passages and vocabulary can be read."""
        if not self.manifest_path.exists():
            raise IndexMissing("no index yet")
        with _lock(self.directory, shared=True):
            return self._read()

    def _read(self) -> tuple[dict[str, Any], dict[str, np.ndarray], Callable[[], None]]:
        manifest = self.read_manifest()
        name = manifest.get("arrays")
        if not isinstance(name, str) or "/" in name or not name.endswith(".npz"):
            raise IndexLoadError("manifest names no arrays file")
        try:
            fh = open(self.directory / name, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise IndexLoadError(f"missing arrays file {name}") from exc
        with fh:
            data = _map(fh)
            digest = _Checksum(data)

            def check() -> None:
                if digest.hexdigest() != manifest.get("arrays_sha256"):
                    raise IndexLoadError(f"arrays file {name} does not match its checksum")

            try:
                arrays = _read_npz(data, fh)
            except Exception as exc:  # whatever broke on it: a damaged file says so first
                check()
                raise IndexLoadError(f"unreadable arrays file {name} ({exc})") from exc
        return manifest, arrays, check

    def write(self, manifest: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Write arrays under a fresh name, then swap the manifest in; old files go last."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with _lock(self.directory):
            name, digest = _write_npz(self.directory, arrays)
            manifest = {**manifest, "format": FORMAT_VERSION, "arrays": name, "arrays_sha256": digest}
            _atomic_write(self.manifest_path, json.dumps(manifest, ensure_ascii=False).encode("utf-8"))
            for old in self.directory.glob("arrays-*.npz"):
                if old.name != name:
                    with contextlib.suppress(OSError):
                        old.unlink()


# Arrays up to this size are compressed (the bundled index stays small); bigger ones are stored
# as they are: inflating ~200 MB took a second of loading a 100,000-passage index.
COMPRESS_BELOW_BYTES = 32_000_000


def _write_npz(directory: Path, arrays: dict[str, np.ndarray]) -> tuple[str, str]:
    """Write an ``.npz`` (a zip of ``.npy`` files, as ``np.savez`` writes; no object arrays) into
    ``directory`` as ``arrays-<sha256 prefix>.npz``, safely: (file name, SHA-256). Written to the
    file as it goes: at 100,000 passages a copy in memory would be a quarter of a gigabyte."""
    small = sum(a.nbytes for a in arrays.values()) < COMPRESS_BELOW_BYTES
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".arrays.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w+b") as fh:
            # Level 1: nearly the size of the default level 6 in a quarter of the time.
            with zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED if small else zipfile.ZIP_STORED, allowZip64=True,
                                 compresslevel=1) as zf:
                for key, array in arrays.items():
                    entry = f"{key}.npy" if small else _aligned_member(f"{key}.npy", fh.tell())
                    with zf.open(entry, "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)
            fh.flush()
            os.fsync(fh.fileno())
            fh.seek(0)
            digest = hashlib.file_digest(fh, "sha256").hexdigest() if hasattr(hashlib, "file_digest") \
                else _sha256(fh.read())
        name = f"arrays-{digest[:16]}.npz"
        os.replace(tmp, directory / name)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return name, digest


def _aligned_member(name: str, offset: int) -> Any:
    """A zip entry whose data, written at ``offset``, starts on a 64-byte boundary (the .npy
    header then pads the array itself to one): read in place, an array must be aligned, or
    NumPy takes slow paths (scoring took half as long again). The padding is an extra field
    with an unused id, which zip readers skip."""
    import struct

    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    # Local header: 30 bytes, the name, our field (4 + pad), then the ZIP64 field (20; forced).
    pad = -(offset + 30 + len(name.encode()) + 4 + 20) % 64
    info.extra = struct.pack("<HH", 0x6661, pad) + b"\0" * pad
    return info


def _map(fh: Any) -> bytes | mmap.mmap:
    """An open file's bytes: mapped into memory where files are POSIX (pages are read as the
    arrays are used, none copied; a rebuild can still replace and remove the file), else read."""
    if os.name == "posix" and os.fstat(fh.fileno()).st_size:
        return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    return fh.read()  # Windows can't remove a mapped file (as a rebuild does); an empty one can't be mapped


class _Checksum:
    """SHA-256 of a buffer, worked out in a thread when it is large (hashlib lets go of the GIL)."""

    def __init__(self, data: bytes | mmap.mmap) -> None:
        self._digest: str | None = None
        self._thread: threading.Thread | None = None
        if len(data) < 1_000_000:
            self._run(data)
        else:
            self._thread = threading.Thread(target=self._run, args=(data,), name="faqbot-checksum", daemon=True)
            self._thread.start()

    def _run(self, data: bytes | mmap.mmap) -> None:
        self._digest = hashlib.sha256(data).hexdigest()

    def hexdigest(self) -> str | None:
        if self._thread is not None:
            self._thread.join()
        return self._digest


def _read_npz(data: bytes | mmap.mmap, fh: Any = None) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` held in ``data``, never unpickling anything; ``fh``: the open
    file ``data`` was read or mapped from, to read its directory and compressed members through.

    Stored (uncompressed) members become read-only views of ``data`` instead of copies: for a
    100,000-passage index that saves a third of a gigabyte and most of a second.
    """
    import io
    import struct

    arrays: dict[str, np.ndarray] = {}
    buffer = fh if fh is not None else io.BytesIO(data)  # the file ``data`` holds, if open
    with zipfile.ZipFile(buffer) as zf:
        for info in zf.infolist():
            key = info.filename.removesuffix(".npy")
            if info.compress_type != zipfile.ZIP_STORED:
                with zf.open(info) as fh:
                    arrays[key] = np.lib.format.read_array(fh, allow_pickle=False)
                continue
            # The local header (30 bytes + name + extra) precedes the member's data.
            name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
            start = info.header_offset + 30 + name_len + extra_len
            buffer.seek(start)
            version = np.lib.format.read_magic(buffer)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(buffer)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(buffer)
            else:
                raise ValueError(f"{key} has an unknown .npy version {version}")
            if dtype.hasobject:
                raise ValueError(f"{key} holds Python objects")
            count = int(np.prod(shape, dtype=np.int64))
            if buffer.tell() + count * dtype.itemsize > start + info.file_size:
                raise ValueError(f"{key} is shorter than its header says")
            flat = np.frombuffer(data, dtype=dtype, count=count, offset=buffer.tell())
            if not flat.flags.aligned:  # not written by _write_npz: a copy is aligned
                flat = flat.copy()
            arrays[key] = flat.reshape(shape, order="F" if fortran else "C")
    return arrays


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection meanwhile: reading a large manifest creates hundreds of
    thousands of objects and none of them garbage, yet the collector kept scanning them all
    (over a second of loading a 100,000-passage index)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def default_index_dir(knowledge: Path) -> Path:
    return knowledge / INDEX_DIRNAME


def _retriever_for(knowledge: Path, settings: Settings) -> TfidfRetriever:
    vocabulary = Vocabulary.load(knowledge / VOCABULARY_FILE)
    weights = Weights(
        body=settings.weight_body, sentence=settings.weight_sentence, context=settings.weight_context,
        role_floor=settings.role_floor, coverage_floor=settings.coverage_floor, lead=settings.lead_weight,
        section_lead=settings.section_lead_weight, focus=settings.focus_bonus, title_focus=settings.title_focus_bonus,
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
        raise KnowledgeError(f"no .txt or .md articles with text to answer from in {knowledge}")
    files: dict[str, list] = {}
    retriever = _retriever_for(knowledge, settings).index(passages)
    for word in retriever.analyzer.vocabulary.alias_words() | STOP_WORDS:  # in questions, not in texts
        stem(word)
    state, arrays = retriever.to_state()
    index_dir = index_dir or default_index_dir(knowledge)
    earlier = _earlier_stems(index_dir)
    manifest = {
        "fingerprint": fingerprint(knowledge, settings, files=files),
        "files": files,
        "versions": library_versions(),
        "built_at": time.time(),
        "calibration": {k: getattr(settings, k) for k in ("threshold", "confidence_weights", "confidence_bias")},
        "retriever": state,
        "stems": stem_table(),
        "common_stems": pack_stems(common_english_stems(near={*retriever.analyzer.indexed_terms,
                                                              *retriever.analyzer.meaning_stems()}, known=earlier)),
        "english_words": {str(step): words for step, words in english_words(ENGLISH_COUNT_STEPS).items()},
    }
    try:
        IndexStore(index_dir).write(manifest, arrays)
    except OSError as exc:
        if must_save:
            raise
        log.warning("Could not save the index to %s (%s); using it from memory", index_dir, exc.strerror or exc)
    report = BuildReport(
        documents=len({p.source for p in passages}), passages_by_kind=describe(passages),
        vocabulary=len(retriever.vocabulary_), seconds=time.perf_counter() - started,
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
            with _collector_paused():
                manifest, arrays, check = store.read_checking()
            if manifest.get("versions") != library_versions():
                reason, level = f"it was built with other library versions ({manifest.get('versions')})", \
                    logging.WARNING
            elif manifest.get("fingerprint") != fingerprint(knowledge, settings, known=manifest):
                reason = "knowledge changed"
            else:
                remember_stems(manifest.get("stems", {}), manifest.get("common_stems", ""))
                remember_english({int(step): words for step, words in manifest.get("english_words", {}).items()})
                retriever = _retriever_for(knowledge, settings)
                with _collector_paused():
                    try:
                        retriever.load_state(manifest["retriever"], arrays)
                    except Exception:
                        check()  # a damaged arrays file says so, rather than what broke on it
                        raise
                check()
                return LoadedIndex(retriever, dict(manifest["calibration"]),
                                   float(manifest.get("built_at", 0.0)), rebuilt=False)
        except IndexMissing as exc:
            reason = str(exc)
        except IndexOutdated as exc:
            reason, level = str(exc), logging.WARNING
        except IndexLoadError as exc:
            reason, level = f"the saved index is damaged: {exc}", logging.WARNING
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            reason, level = f"the saved index is damaged ({type(exc).__name__}: {exc})", logging.WARNING
    log.log(level, "Rebuilding index in %s: %s", index_dir, reason)
    retriever, report = build_index(knowledge, index_dir, settings, must_save=False)
    calibration = {k: getattr(settings, k) for k in ("threshold", "confidence_weights", "confidence_bias")}
    return LoadedIndex(retriever, calibration, time.time(), rebuilt=True, report=report)
