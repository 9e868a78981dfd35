"""Benchmark: the docs linter vs markdownlint-cli2 over Segment's real partner pages.

    .venv/bin/python bench/doclint.py [--runs 3] [--corpus ../shared/corpus/segment-docs]

Both tools are timed the same way: whole-process wall time of a fresh subprocess that reads and
lints every page of `destinations/*.md` and `sources/*.md` (interpreter or Node start-up, imports
and file reading included). doclint runs its 20 DOC rules (tasks.docs.lint.lint); markdownlint-cli2
runs its default rule set (no config file). Runs alternate between the tools; the figures are the
medians, with the range over the runs. The ratio is markdownlint-cli2's time over doclint's:
above 1.0 doclint is faster; the goal is 3.0 (3.44 in an earlier release). A loaded machine moves
the two tools' times unequally: compare ratios measured on a quiet one.

markdownlint-cli2 is installed into bench/.tools/ with npm when absent.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "bench" / ".tools"
MARKDOWNLINT = TOOLS / "node_modules" / ".bin" / "markdownlint-cli2"
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "segment-docs"
GOAL = 3.0


def pages(corpus: Path) -> list[Path]:
    return sorted(corpus.glob("destinations/*.md")) + sorted(corpus.glob("sources/*.md"))


def worker(corpus: Path) -> None:
    """Lint the corpus in this process; print one JSON line (runs as the timed subprocess)."""
    started = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    from partner_review.tasks.docs.lint import lint

    imported = time.perf_counter()
    findings = 0
    files = pages(corpus)
    for page in files:
        relative = str(page.relative_to(corpus))
        findings += sum(1 for r in lint(page.read_bytes(), path=relative) if r.outcome in ("fail", "warn"))
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "pages": len(files),
                "findings": findings,
                "import_s": imported - started,
                "lint_s": done - imported,
                "prefect": any(m.startswith("prefect") for m in sys.modules),
            }
        )
    )


def ensure_markdownlint() -> bool:
    if MARKDOWNLINT.exists():
        return True
    npm = shutil.which("npm")
    if not npm:
        print("markdownlint-cli2 is not installed and npm is not on PATH", file=sys.stderr)
        return False
    print(f"installing markdownlint-cli2 into {TOOLS} ...", file=sys.stderr)
    subprocess.run([npm, "install", "--prefix", str(TOOLS), "markdownlint-cli2"], check=True, stdout=subprocess.DEVNULL)
    return MARKDOWNLINT.exists()


def markdownlint_version() -> str:
    package = TOOLS / "node_modules" / "markdownlint-cli2" / "package.json"
    return json.loads(package.read_text())["version"] if package.exists() else "?"


def time_doclint(corpus: Path) -> tuple[float, dict]:
    env = dict(os.environ, PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--worker", "--corpus", str(corpus)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=ROOT,
    )
    wall = time.perf_counter() - started
    return wall, json.loads(done.stdout.strip().splitlines()[-1])


def time_markdownlint(corpus: Path, workdir: Path) -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run(
        [str(MARKDOWNLINT), f"{corpus}/destinations/*.md", f"{corpus}/sources/*.md"],
        capture_output=True,
        text=True,
        cwd=workdir,
    )
    wall = time.perf_counter() - started
    if done.returncode not in (0, 1):  # 1: findings were reported
        raise RuntimeError(f"markdownlint-cli2 failed ({done.returncode}): {done.stderr[-500:]}")
    return wall, sum(1 for line in (done.stdout + done.stderr).splitlines() if " MD0" in line)


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f} s (range {min(values):.2f}-{max(values):.2f} s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    corpus = args.corpus.resolve()
    if args.worker:
        worker(corpus)
        return
    count = len(pages(corpus))
    if count == 0:
        sys.exit(f"no pages under {corpus}/destinations or {corpus}/sources")
    print(f"corpus: {count} pages under {corpus}")
    available = ensure_markdownlint()
    doclint_walls, lint_times, markdownlint_walls = [], [], []
    with tempfile.TemporaryDirectory() as workdir:  # no stray markdownlint config applies
        for run in range(1, args.runs + 1):
            order = ["doclint", "markdownlint"] if run % 2 else ["markdownlint", "doclint"]
            line: list[str] = []
            for tool in order:
                if tool == "doclint":
                    wall, report = time_doclint(corpus)
                    assert report["pages"] == count and not report["prefect"], report
                    doclint_walls.append(wall)
                    lint_times.append(report["lint_s"])
                    line.append(
                        f"doclint {wall:.2f} s wall (import {report['import_s']:.2f} s, lint "
                        f"{report['lint_s']:.2f} s, {report['findings']} findings)"
                    )
                elif available:
                    wall, reported = time_markdownlint(corpus, Path(workdir))
                    markdownlint_walls.append(wall)
                    line.append(f"markdownlint-cli2 {wall:.2f} s wall ({reported} findings)")
            print(f"run {run}: " + " | ".join(line))
    doclint = statistics.median(doclint_walls)
    print(
        f"doclint (20 DOC rules): {spread(doclint_walls)} per whole process = {count / doclint:.0f} pages/s; "
        f"lint alone {spread(lint_times)} = {count / statistics.median(lint_times):.0f} pages/s"
    )
    if not markdownlint_walls:
        print(f"headline: doclint speed ratio vs markdownlint-cli2 = n/a (goal >= {GOAL})")
        return
    markdownlint = statistics.median(markdownlint_walls)
    ratios = [m / d for m, d in zip(markdownlint_walls, doclint_walls)]
    print(
        f"markdownlint-cli2 {markdownlint_version()} (default rules): {spread(markdownlint_walls)} = "
        f"{count / markdownlint:.0f} pages/s"
    )
    print(f"ratio per run: {', '.join(f'{r:.2f}' for r in ratios)}")
    print(f"headline: doclint speed ratio vs markdownlint-cli2 = {markdownlint / doclint:.2f} (goal >= {GOAL})")


if __name__ == "__main__":
    main()
