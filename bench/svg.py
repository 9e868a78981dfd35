"""Benchmark: the SVG inspector's time on hostile and large documents (the bounds the tests no longer time).

    .venv/bin/python bench/svg.py [--runs 5]

Each case is analysed `--runs` times; the figure is the median wall time. Goals: a refusal
(billion laughs, 50 MB, 150,000 levels deep) well under a second, a 1 MiB legal drawing under 3 s.
The last line is the slowest case against its goal.
"""

from __future__ import annotations

import argparse
import statistics
import time

from partner_review.tasks.catalog.svg import SvgError, inspect

NS = 'xmlns="http://www.w3.org/2000/svg"'
BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE svg [\n<!ENTITY lol "lol">\n'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10))
    + f"]>\n<svg {NS}><text>&lol9;</text></svg>"
)
MIB = 1024 * 1024
CASES = {  # name: (document, max_bytes, goal in seconds)
    "billion laughs (refused)": (BILLION_LAUGHS, MIB, 0.5),
    "50 MB (refused by size)": (f"<svg {NS}>" + "<g/>" * (50 * MIB // 4) + "</svg>", MIB, 0.1),
    "150,000 levels deep (refused)": (f"<svg {NS}>" + "<g>" * 150_000 + "</g>" * 150_000 + "</svg>", 2 * MIB, 0.5),
    "1 MiB of <g/> (analysed)": (f'<svg {NS} viewBox="0 0 10 10">' + "<g/>" * 260_000 + "</svg>", 2 * MIB, 3.0),
    "1 MiB of styled paths (analysed)": (
        f'<svg {NS} viewBox="0 0 10 10">'
        + '<path d="M0 0h1v1z" fill="url(#g)" style="stroke:#000;stroke-width:1"/>' * 13_500
        + "</svg>",
        2 * MIB,
        3.0,
    ),
}


def timed(document: str, max_bytes: int) -> float:
    started = time.perf_counter()
    try:
        inspect(document, max_bytes=max_bytes)
    except SvgError:
        pass
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    worst = ("", 0.0, 1.0)
    for name, (document, max_bytes, goal) in CASES.items():
        median = statistics.median(timed(document, max_bytes) for _ in range(args.runs))
        print(f"{name:36} {median * 1000:9.1f} ms  (goal < {goal * 1000:g} ms, {len(document):,} chars)")
        if median / goal > worst[1] / worst[2]:
            worst = (name, median, goal)
    name, median, goal = worst
    print(f"headline: slowest case against its goal, {name} = {median * 1000:.1f} ms (goal < {goal * 1000:g} ms)")


if __name__ == "__main__":
    main()
