"""Measurement: the SVG allow-list's false-positive rate over real icon sets from npm.

    .venv/bin/python bench/svg_icons.py [--package simple-icons ...] [DIR ...]

Each `--package` is fetched with `npm pack` into bench/.tools/icons/ (once) and every `.svg` in it
is analysed with `tasks.catalog.svg.inspect`; directories given are read as they are. An icon is
flagged when it reports a danger or is refused. Flagged icons are listed so a person can tell a
true positive (a real `<script>`) from a false one. The last line is the overall flagged rate.
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import tarfile
import time
from pathlib import Path

from partner_review.tasks.catalog.svg import SvgError, inspect

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "bench" / ".tools" / "icons"
DEFAULT = ("simple-icons", "devicon", "cryptocurrency-icons", "flag-icons", "super-tiny-icons")


def unpack(package: str) -> Path:
    target = TOOLS / package
    if not target.exists():
        TOOLS.mkdir(parents=True, exist_ok=True)
        name = subprocess.run(
            ["npm", "pack", package, "--silent"], cwd=TOOLS, check=True, capture_output=True, text=True
        ).stdout.split()[-1]
        with tarfile.open(TOOLS / name) as archive:
            archive.extractall(target, filter="data")
    return target


def measure(name: str, folder: Path) -> tuple[int, list[tuple[Path, str]]]:
    files = sorted(folder.rglob("*.svg"))
    flagged = []
    for path in files:
        try:
            info = inspect(path.read_text(encoding="utf-8", errors="replace"), max_bytes=4 * 1024 * 1024)
        except SvgError as error:
            flagged.append((path, f"refused: {error.kind}"))
            continue
        if info.dangers:
            flagged.append((path, "; ".join(info.dangers)))
    return len(files), flagged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--package", action="append", help="an npm package of SVG icons (repeatable)")
    parser.add_argument("dirs", nargs="*", type=Path)
    args = parser.parse_args()
    sets = [(p, unpack(p)) for p in (args.package or ([] if args.dirs else DEFAULT))]
    sets += [(str(d), d) for d in args.dirs]
    total = flagged_total = 0
    for name, folder in sets:
        started = time.perf_counter()
        count, flagged = measure(name, folder)
        total, flagged_total = total + count, flagged_total + len(flagged)
        rate = 100 * len(flagged) / count if count else 0.0
        print(f"{name}: {count} icons, {len(flagged)} flagged ({rate:.2f} %), {time.perf_counter() - started:.1f} s")
        reasons = collections.Counter(reason for _, reason in flagged)
        for reason, n in reasons.most_common(5):
            print(f"    {n} x {reason}")
        for path, _ in flagged[:5]:
            print(f"    e.g. {path}")
    rate = 100 * flagged_total / total if total else 0.0
    print(f"headline: icons flagged over {total} real icons = {rate:.2f} % (goal 0 % false positives)")


if __name__ == "__main__":
    main()
