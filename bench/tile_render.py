"""Catalog tile rendering: resvg (the wheel the review uses) against headless Chromium (Playwright
driving /usr/bin/chromium), on the bundled example's logo and mark. Prints seconds per tile.

    .venv/bin/python bench/tile_render.py
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

from partner_review.models.submission import parse_submission
from partner_review.tasks.catalog.render import render_tile

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 10


def timed(fn) -> float:
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    submission = parse_submission(json.loads((ROOT / "examples" / "submission.json").read_text()))
    resvg = timed(lambda: render_tile(submission))
    print(f"resvg + Pillow, whole tile and checks: {resvg * 1000:.0f} ms median of {ROUNDS}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("chromium: playwright not installed")
        return
    app = submission.app
    html = (
        f"<div style='font:15px sans-serif;width:720px'>{app.mark_svg}<h2>{app.name}</h2>"
        f"<p>{app.description}</p>{app.logo_svg}</div>"
    )
    start = time.perf_counter()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"])
        launched = time.perf_counter() - start
        page = browser.new_page(viewport={"width": 720, "height": 452})

        def shot() -> None:
            page.set_content(html)
            page.screenshot(type="png")

        chromium = timed(shot)
        browser.close()
    print(f"chromium launch: {launched * 1000:.0f} ms; each tile after: {chromium * 1000:.0f} ms median of {ROUNDS}")
    print(
        f"headline: resvg tile = {resvg * 1000:.0f} ms (goal < chromium {chromium * 1000 + launched * 1000:.0f} ms cold)"
    )


if __name__ == "__main__":
    main()
