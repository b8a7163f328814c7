"""Scale benchmark: faqbot and bm25s side by side on synthetic knowledge bases of N passages.

Used by ``scripts/benchmark.py --scale [1000,10000,100000]``; runnable on its own too::

    python scripts/scale_bench.py --sizes 1000,10000 [--json] [--keep DIR]

Every measurement that involves a system runs in a fresh child process (``--worker``), so its
peak RSS (``ru_maxrss`` of that process) and its import costs are its own. The knowledge bases
are generated from a fixed seed: the bundled articles' sentences recombined into new sections,
plus generated terms (product names, codes) that make the vocabulary grow with the size as real
collections do. bm25s needs the ``bench`` extra.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SEED = 20240611
DEFAULT_SIZES = (1_000, 10_000, 100_000)
SECTIONS_PER_FILE = 20
BUNDLED = ROOT / "knowledge"
QUESTION_FILE = ROOT / "tests" / "eval" / "questions.jsonl"
# Cold starts: a question in the articles' words, and one with words no article uses.
COLD_QUESTIONS = ("coo salary", "whats the weather in tokyo")

# Sentence frames around generated terms, so they read like the articles' own prose.
_TEMPLATES = (
    "The {t} program is owned by the {r}, who reviews its {w} every quarter.",
    "Teams using {t} report {w} improvements after the {t2} rollout.",
    "A {r} usually signs off on {t} budgets before the {w} review.",
    "{T} and {t2} are the two tools most often mentioned in {w} planning.",
    "In small companies the {r} may run {t} directly, without a dedicated {w} team.",
    "The {t} certification covers {w}, vendor management and {t2} audits.",
    "Expect questions about {t} during interviews for a {r} position.",
)
_ROLES = ("COO", "VP of Operations", "Operations Manager", "Operations Director", "Head of Operations", "CEO")
_WORDS = ("budget", "logistics", "compliance", "hiring", "salary", "reporting", "strategy", "supply chain",
          "quality", "forecasting", "onboarding", "procurement")
_ONSETS = ("b", "br", "c", "ch", "d", "dr", "f", "g", "gr", "k", "l", "m", "n", "p", "pr", "qu", "r", "s", "st",
           "t", "tr", "v", "w", "z")
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ea", "io", "ou")
_CODAS = ("", "", "n", "r", "l", "x", "s", "nd", "rt", "m")


def _bundled_text() -> tuple[list[str], list[str]]:
    """Sentences (5+ words) and headings of the bundled articles: the material recombined."""
    from bot.ingest import load_folder
    from bot.textproc import sentences

    passages, _ = load_folder(BUNDLED)
    found: dict[str, None] = {}
    for p in passages:
        for line in p.text.split("\n"):
            for s in sentences(line):
                if len(s.split()) >= 5 and s.rstrip().endswith((".", "?", "!")):
                    found.setdefault(s.strip(), None)
    headings = sorted({p.section for p in passages if p.section and len(p.section) < 80})
    return sorted(found), headings


def _term(rng: random.Random) -> str:
    return "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(rng.randint(2, 3)))


def _zipf_sampler(rng: random.Random, items: Sequence[str], exponent: float = 1.1) -> Callable[[], str]:
    """Draw items with Zipf-like frequencies: a few common terms, a long tail of rare ones."""
    import itertools

    cumulative = list(itertools.accumulate(1.0 / (rank ** exponent) for rank in range(1, len(items) + 1)))
    total = cumulative[-1]
    import bisect

    return lambda: items[min(len(items) - 1, bisect.bisect_left(cumulative, rng.random() * total))]


def generate_knowledge(dest: Path, passages: int, seed: int = SEED,
                       progress: Callable[[int], None] | None = None) -> Path:
    """Write a deterministic synthetic knowledge folder of ``passages`` sections (one passage each).

    Markdown files of ``SECTIONS_PER_FILE`` sections; each section is a heading and 120-1,150
    characters (the bundled passages' range) of recombined sentences and generated-term sentences.
    The bundled ``synonyms.ini`` and ``faqbot.toml`` come along, so roles and synonyms apply.
    """
    rng = random.Random(seed)
    pool, headings = _bundled_text()
    # The vocabulary grows with the collection (Heaps' law) rather than staying the articles' own.
    terms = sorted({_term(rng) for _ in range(max(300, passages // 2))})
    rng.shuffle(terms)
    draw = _zipf_sampler(rng, terms)
    dest.mkdir(parents=True, exist_ok=True)
    for extra in ("synonyms.ini", "faqbot.toml"):
        shutil.copy(BUNDLED / extra, dest / extra)
    written = 0
    n_files = (passages + SECTIONS_PER_FILE - 1) // SECTIONS_PER_FILE
    for f in range(n_files):
        lines = [f"# {draw().title()} operations guide {f}", ""]
        for _ in range(min(SECTIONS_PER_FILE, passages - written)):
            heading = f"{rng.choice(headings)}: {draw()}" if rng.random() < 0.5 else rng.choice(headings)
            target = rng.randint(120, 1150)
            body: list[str] = []
            size = 0
            while size < target:
                if rng.random() < 0.3:
                    t, t2 = draw(), draw()
                    s = rng.choice(_TEMPLATES).format(t=t, T=t.capitalize(), t2=t2, r=rng.choice(_ROLES),
                                                      w=rng.choice(_WORDS))
                else:
                    s = rng.choice(pool)
                if size and size + len(s) + 1 > 1150:
                    break
                body.append(s)
                size += len(s) + 1
            lines += [f"## {heading}", "", " ".join(body), ""]
            written += 1
        (dest / f"guide-{f:05d}.md").write_text("\n".join(lines), encoding="utf-8")
        if progress:
            progress(min(SECTIONS_PER_FILE, passages - f * SECTIONS_PER_FILE))
    return dest


def queries(seed: int = SEED, generated: int = 100) -> list[str]:
    """The fixed query set: the project's evaluation questions plus questions about generated terms."""
    rows = [json.loads(line)["question"] for line in QUESTION_FILE.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    rng = random.Random(seed + 1)
    frames = ("what is {t} used for", "who owns the {t} budget", "does a {r} need {t} certification",
              "{t} and {t2} planning", "how does {t} help {w}")
    # The same generator as the knowledge bases draws from, so these terms exist at every size.
    term_rng = random.Random(seed)
    terms = sorted({_term(term_rng) for _ in range(300)})
    for _ in range(generated):
        rows.append(rng.choice(frames).format(t=rng.choice(terms), t2=rng.choice(terms), r=rng.choice(_ROLES),
                                              w=rng.choice(_WORDS)))
    return rows


# -- workers (run in child processes) ----------------------------------------------------------
def _peak_rss_mb(who: int | None = None) -> float:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF if who is None else who).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB elsewhere


class TreeMemory:
    """Samples the summed RSS of this process and its children (forked build workers) every
    0.1 s: pages the processes share count once per process, so the peak is an upper bound.
    (``/proc/PID/statm``: cheap to read; ``smaps_rollup`` would give PSS but reading it stalls
    the processes measured and slowed a build by a fifth.) Linux only; elsewhere it stays 0.
    """

    def __init__(self) -> None:
        import threading

        self.peak_rss_mb = 0.0
        self._page_mb = os.sysconf("SC_PAGE_SIZE") / 2**20 if hasattr(os, "sysconf") else 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @staticmethod
    def _tree(pid: int) -> list[int]:
        pids, todo = [], [pid]
        while todo:
            current = todo.pop()
            pids.append(current)
            for task in Path(f"/proc/{current}/task").glob("*/children"):
                todo += [int(c) for c in task.read_text().split()]
        return pids

    def _run(self) -> None:
        while True:
            rss = 0.0
            try:
                for pid in self._tree(os.getpid()):
                    rss += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * self._page_mb
            except (OSError, ValueError, IndexError):  # a child just exited, or no /proc
                pass
            self.peak_rss_mb = max(self.peak_rss_mb, rss)
            if self._stop.wait(0.1):
                return


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and p.name != ".lock")


def _percentiles(latencies: Sequence[float]) -> dict[str, float]:
    ordered = sorted(latencies)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] * 1000

    return {"p50_ms": pick(50), "p99_ms": pick(99)}


def _bm25_tokens(texts: list[str]) -> list[list[str]]:
    import bm25s

    return bm25s.tokenize(texts, stopwords="en", return_ids=False, show_progress=False)


def worker(system: str, phase: str, knowledge: Path, index_dir: Path) -> dict[str, Any]:
    """One measurement in this (fresh) process: ``build`` or ``serve`` (load + queries)."""
    started = time.perf_counter()
    result: dict[str, Any] = {}
    qs = queries()
    if system == "faqbot":
        from bot.config import load_settings

        settings = load_settings(knowledge / "faqbot.toml")
        if phase == "rebuild":  # what a running bot pays when the articles change: libraries loaded
            from bot.index_store import build_index
            from bot.textproc import sentences, stem

            sentences("Loads Punkt. And the stemmer."), stem("loading")
            started = time.perf_counter()
            build_index(knowledge, index_dir, settings)  # from nothing
            result["first_build_s"] = time.perf_counter() - started
            started = time.perf_counter()
            build_index(knowledge, index_dir, settings)  # over the index built before, as after an edit
            result["build_s"] = time.perf_counter() - started
        elif phase == "build":
            import resource

            from bot.index_store import build_index
            from bot.retriever import build_workers

            with TreeMemory() as memory:
                retriever, report = build_index(knowledge, index_dir, settings)
            result.update(build_s=time.perf_counter() - started, passages=len(retriever.passages_),
                          vocabulary=report.vocabulary, index_bytes=_dir_bytes(index_dir))
            workers = build_workers(len(retriever.passages_))
            if workers > 1:
                # Large builds analyse in forked processes; ru_maxrss sees one process at a time,
                # so the peak is the sampled sum over the process tree (an upper bound).
                result.update(workers=workers, process_rss_mb=_peak_rss_mb(),
                              child_rss_mb=_peak_rss_mb(resource.RUSAGE_CHILDREN), tree_rss_mb=memory.peak_rss_mb)
                result["peak_rss_mb"] = max(memory.peak_rss_mb, result["process_rss_mb"])
        else:
            import io

            from bot.cli import run_batch
            from bot.engine import Engine

            engine = Engine.open(knowledge, index_dir, settings)
            result["load_s"] = time.perf_counter() - started
            engine.ask(qs[0])  # first-use costs (lazy spelling corrector) belong to load, not to p99
            result["first_query_s"] = time.perf_counter() - started - result["load_s"]
            latencies = []
            for q in qs:
                t = time.perf_counter()
                engine.ask(q)
                latencies.append(time.perf_counter() - t)
            result.update(_percentiles(latencies))
            t = time.perf_counter()
            run_batch(engine, [json.dumps({"id": i, "question": q}) + "\n" for i, q in enumerate(qs)], io.StringIO(),
                      as_json=True)
            result["batch_qps"] = len(qs) / (time.perf_counter() - t)
    elif system == "bm25s":
        import bm25s

        if phase == "build":
            from bot.ingest import load_folder

            passages, _ = load_folder(knowledge)  # the same passages faqbot indexes (not timed)
            started = time.perf_counter()
            model = bm25s.BM25()
            model.index(_bm25_tokens([p.text for p in passages]), show_progress=False)
            model.save(str(index_dir), show_progress=False)
            result.update(build_s=time.perf_counter() - started, passages=len(passages),
                          index_bytes=_dir_bytes(index_dir))
        else:
            model = bm25s.BM25.load(str(index_dir), show_progress=False)
            result["load_s"] = time.perf_counter() - started
            latencies = []
            for q in qs:
                t = time.perf_counter()
                model.retrieve(_bm25_tokens([q]), k=5, show_progress=False, n_threads=1)
                latencies.append(time.perf_counter() - t)
            result.update(_percentiles(latencies))
            t = time.perf_counter()
            model.retrieve(_bm25_tokens(qs), k=5, show_progress=False, n_threads=1)
            result["batch_qps"] = len(qs) / (time.perf_counter() - t)
    else:
        raise ValueError(f"unknown system {system}")
    result.setdefault("peak_rss_mb", _peak_rss_mb())
    return result


def _run_worker(system: str, phase: str, knowledge: Path, index_dir: Path) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", system, phase, str(knowledge), str(index_dir)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{system} {phase} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the whole run ----------------------------------------------------------------------------
def cold_start(runs: int = 5) -> dict[str, Any]:
    """Seconds from ``faqbot ask "..."`` to its answer on the bundled knowledge (median of ``runs``
    per question in ``COLD_QUESTIONS``), and the bundled index: rebuild seconds and size."""
    script = Path(sys.executable).parent / "faqbot"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "bot"]
    with tempfile.TemporaryDirectory() as tmp:
        knowledge = Path(tmp) / "knowledge"
        shutil.copytree(BUNDLED, knowledge, ignore=shutil.ignore_patterns(".index"))
        ask = [*cmd, "ask", "--knowledge", str(knowledge)]
        subprocess.run([*ask, COLD_QUESTIONS[0]], capture_output=True, check=True)  # builds the index once
        cold: dict[str, list[float]] = {}
        for question in COLD_QUESTIONS:
            for _ in range(runs):
                t = time.perf_counter()
                subprocess.run([*ask, question], capture_output=True, check=True)
                cold.setdefault(question, []).append(time.perf_counter() - t)
        # A rebuild, as `faqbot index` does it (wall time, imports included), and the build itself
        # in a process that has its libraries loaded (a bot's rebuild): from nothing, and over the
        # index built before (what a rebuild after an edit is).
        t = time.perf_counter()
        subprocess.run([*cmd, "index", "--knowledge", str(knowledge)], capture_output=True, check=True)
        index_wall = time.perf_counter() - t
        size = _dir_bytes(knowledge / ".index")
        build = _run_worker("faqbot", "rebuild", knowledge, Path(tmp) / "rebuilt")
    return {"cold_start_s": {q: statistics.median(times) for q, times in cold.items()}, "cold_start_runs": cold,
            "index_wall_s": index_wall, "rebuild_s": build["build_s"], "first_build_s": build["first_build_s"],
            "bundled_index_bytes": size}


def run(sizes: Sequence[int], keep: Path | None = None, progress: bool = True) -> dict[str, Any]:
    """Generate, build, load and query every size with both systems; the results as a dict."""
    try:
        from tqdm import tqdm
    except ImportError:  # the bench extra is missing: no bars, same results
        tqdm = None
    results: dict[str, Any] = {"sizes": {}, "queries": len(queries()), "python": sys.version.split()[0],
                               "cpus": os.cpu_count()}
    base = keep or Path(tempfile.mkdtemp(prefix="faqbot-scale-"))
    try:
        for n in sizes:
            knowledge = base / f"kb-{n}"
            if not (knowledge / ".complete").exists():
                shutil.rmtree(knowledge, ignore_errors=True)
                bar = tqdm(total=n, desc=f"generate {n:,}", unit="passage", disable=not progress) if tqdm else None
                generate_knowledge(knowledge, n, progress=bar.update if bar else None)
                if bar:
                    bar.close()
                (knowledge / ".complete").touch()
            steps = [(s, p) for s in ("faqbot", "bm25s") for p in ("build", "serve")]
            bar = tqdm(steps, desc=f"{n:,} passages", disable=not progress) if tqdm else steps
            row: dict[str, dict[str, Any]] = {}
            for system, phase in bar:
                if tqdm:
                    bar.set_postfix_str(f"{system} {phase}")
                index_dir = base / f"index-{system}-{n}"
                if phase == "build":
                    shutil.rmtree(index_dir, ignore_errors=True)
                measured = _run_worker(system, phase, knowledge, index_dir)
                row.setdefault(system, {}).update({f"{phase}_{k}" if k == "peak_rss_mb" else k: v
                                                   for k, v in measured.items()})
            for measured in row.values():
                measured["peak_rss_mb"] = max(measured.pop("build_peak_rss_mb"), measured.pop("serve_peak_rss_mb"))
            results["sizes"][str(n)] = row
        results["bundled"] = cold_start()
    finally:
        if keep is None:
            shutil.rmtree(base, ignore_errors=True)
    return results


def print_table(results: dict[str, Any]) -> None:
    head = (f"{'passages':>9} {'system':7} {'build s':>8} {'index MB':>9} {'load s':>7} {'peak RSS MB':>11} "
            f"{'p50 ms':>7} {'p99 ms':>7} {'batch q/s':>10}")
    print(f"\nscale benchmark: {results['queries']} queries, Python {results['python']}, {results['cpus']} CPUs")
    print(head)
    print("-" * len(head))
    for n, row in results["sizes"].items():
        for system, m in row.items():
            print(f"{int(n):>9,} {system:7} {m['build_s']:8.2f} {m['index_bytes'] / 1e6:9.1f} {m['load_s']:7.2f} "
                  f"{m['peak_rss_mb']:11.0f} {m['p50_ms']:7.2f} {m['p99_ms']:7.2f} {m['batch_qps']:10.0f}")
        if "faqbot" in row and "bm25s" in row:
            ratio = row["faqbot"]["p50_ms"] / max(row["bm25s"]["p50_ms"], 1e-9)
            print(f"{'':>9} faqbot p50 / bm25s p50 = {ratio:.2f}")
    b = results.get("bundled")
    if b:
        print("\nbundled knowledge:")
        for question, seconds in b["cold_start_s"].items():
            runs = ", ".join(f"{t:.2f}" for t in b["cold_start_runs"][question])
            print(f"  cold start `faqbot ask \"{question}\"` {seconds:.2f} s (median of {runs})")
        print(f"  index {b['bundled_index_bytes'] / 1e3:.0f} kB, rebuilt in {b['rebuild_s']:.2f} s over the "
              f"earlier index, built in {b['first_build_s']:.2f} s from nothing (`faqbot index`: "
              f"{b['index_wall_s']:.2f} s wall, imports included)")


def parse_sizes(text: str) -> list[int]:
    """``"1000,10k"`` -> [1000, 10000]."""
    sizes = []
    for part in re.split(r"[,\s]+", text.strip()):
        if part:
            scale = 1000 if part.lower().endswith("k") else 1
            sizes.append(int(part.lower().rstrip("k").replace("_", "")) * scale)
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected sizes like 1000,10000: {text!r}")
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=parse_sizes, default=list(DEFAULT_SIZES))
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
    parser.add_argument("--keep", type=Path, help="generate into (and reuse) this folder instead of a temporary one")
    parser.add_argument("--worker", nargs=4, metavar=("SYSTEM", "PHASE", "KNOWLEDGE", "INDEX"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        system, phase, knowledge, index_dir = args.worker
        print(json.dumps(worker(system, phase, Path(knowledge), Path(index_dir))))
        return 0
    results = run(args.sizes, args.keep, progress=not args.json)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
