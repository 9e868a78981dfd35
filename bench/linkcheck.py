"""Link check speed: partner-review's checker against linkinator on the same 1,000 links.

A loopback server (its own process) answers on 127.0.0.2-127.0.0.5 after a 20 ms delay per request,
like a real site's latency. Both checkers get the same per-host budget: partner-review 10 requests
at once per host (`link_host_concurrency`) and no spacing between requests (linkinator has none;
the production default of 50 ms would cap a host at 20 requests/s by design); linkinator a global
concurrency of 10 x hosts. The rounds alternate which checker runs first; the headline is the ratio
of each back-to-back pair, median over the rounds (pairs see the same machine load).

    .venv/bin/python bench/linkcheck.py [--links 1000] [--rounds 5]

linkinator 6 must be in bench/.tools (`npm install --prefix bench/.tools linkinator@6`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS = Path(__file__).resolve().parent / ".tools"
HOSTS = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"]
PER_HOST = 10
DELAY = 0.020

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
sys.path.insert(0, str(ROOT))


# The loopback server (run with --serve in a child process) ------------------------------------


class _Handler(asyncio.Protocol):
    """HTTP/1.1 keep-alive; every request answered after DELAY; tracks requests in flight per host."""

    index = b""
    stats: dict[str, dict[str, int]] = {}

    def connection_made(self, transport):
        self.transport = transport
        self.host = transport.get_extra_info("sockname")[0]
        self.buffer = b""
        self.stat = self.stats.setdefault(self.host, {"requests": 0, "now": 0, "most": 0})

    def data_received(self, data):
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            request_line = head.split(b"\r\n", 1)[0].split(b" ")
            if len(request_line) != 3:
                self.transport.close()  # not HTTP/1.1 as both checkers speak it
                return
            method, path, _ = request_line
            if path == b"/stats":
                self._send(200, json.dumps(self.stats).encode(), method)
            elif path == b"/reset":
                for stat in self.stats.values():
                    stat.update(requests=0, most=0)
                self._send(200, b"ok", method)
            elif path == b"/index.html":
                self._send(200, self.index, method)
            else:
                self.stat["requests"] += 1
                self.stat["now"] += 1
                self.stat["most"] = max(self.stat["most"], self.stat["now"])
                asyncio.get_running_loop().call_later(DELAY, self._delayed, method)

    def _delayed(self, method):
        self.stat["now"] -= 1
        self._send(200, b"<html><body>ok</body></html>", method)

    def _send(self, status, body, method):
        if self.transport.is_closing():
            return
        head = (
            f"HTTP/1.1 {status} OK\r\nContent-Type: text/html\r\nContent-Length: {len(body)}\r\n"
            "Connection: keep-alive\r\n\r\n"
        ).encode()
        self.transport.write(head if method == b"HEAD" else head + body)


async def _serve(port: int, links: list[str]) -> None:
    _Handler.index = (
        "<html><body>" + "".join(f'<a href="{u}">{i}</a>\n' for i, u in enumerate(links)) + "</body></html>"
    ).encode()
    loop = asyncio.get_running_loop()
    for host in HOSTS:
        await loop.create_server(_Handler, host, port, backlog=1024)
    print("ready", flush=True)
    await asyncio.Event().wait()


# The two checkers -----------------------------------------------------------------------------


async def _partner_review(links: list[str]) -> tuple[float, int]:
    import aiohttp  # noqa: F401  the engine imports it lazily; import time is not measured (nor linkinator's)

    from partner_review.models.settings import get_settings
    from partner_review.models.submission import parse_submission
    from partner_review.tasks.links.linkcheck import check_links

    os.environ.update(
        {
            "PARTNER_REVIEW_ALLOWED_NETWORKS": "127.0.0.0/8",
            "PARTNER_REVIEW_LINK_HOST_CONCURRENCY": str(PER_HOST),
            "PARTNER_REVIEW_LINK_REQUEST_INTERVAL_MS": "0",
        }
    )
    get_settings.cache_clear()
    submission = parse_submission(
        {
            "version": 1,
            "app": {"name": "Bench", "slug": "bench"},
            "components": [{"type": "source", "name": "Bench", "sample_events": [{"type": "track"}]}],
        }
    )
    started = time.perf_counter()
    results = await check_links(submission, doc_links=[(url, i + 1) for i, url in enumerate(links)])
    elapsed = time.perf_counter() - started
    return elapsed, sum(1 for r in results if r.check == "LNK-011" and r.outcome == "pass")


LINKINATOR_SCRIPT = """
const { LinkChecker } = await import(process.env.LINKINATOR);
const checker = new LinkChecker();
const started = performance.now();
const result = await checker.check({ path: process.argv[1], concurrency: Number(process.argv[2]) });
const elapsed = (performance.now() - started) / 1000;
const ok = result.links.filter((l) => l.state === 'OK').length;
console.log(JSON.stringify({ elapsed, ok, total: result.links.length }));
"""


def _linkinator(index_url: str, concurrency: int) -> tuple[float, int]:
    entry = TOOLS / "node_modules" / "linkinator" / "build" / "src" / "index.js"
    out = subprocess.run(
        ["node", "--input-type=module", "-e", LINKINATOR_SCRIPT, index_url, str(concurrency)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "LINKINATOR": entry.as_uri()},
        timeout=300,
    )
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return data["elapsed"], data["ok"] - 1  # the index page itself is one of linkinator's links


def _stats(port: int, reset: bool = False) -> dict:
    import urllib.request

    with urllib.request.urlopen(f"http://{HOSTS[0]}:{port}/{'reset' if reset else 'stats'}", timeout=5) as r:
        return json.loads(r.read()) if not reset else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--links", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--port", type=int, default=18931)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    links = [f"http://{HOSTS[i % len(HOSTS)]}:{args.port}/page/{i}" for i in range(args.links)]
    if args.serve:
        asyncio.run(_serve(args.port, links))
        return
    if not (TOOLS / "node_modules" / "linkinator").exists():
        sys.exit("linkinator is missing: npm install --prefix bench/.tools linkinator@6")

    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--port", str(args.port), "--links", str(args.links)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        if server.stdout.readline().strip() != "ready":
            sys.exit("the loopback server did not start")
        index_url = f"http://{HOSTS[0]}:{args.port}/index.html"
        ours: list[float] = []
        theirs: list[float] = []
        ratios: list[float] = []
        most: dict[str, int] = {}
        print(
            f"{args.links} links on {len(HOSTS)} hosts, {DELAY * 1000:.0f} ms per request; "
            f"{PER_HOST} at once per host (linkinator: concurrency {PER_HOST * len(HOSTS)})"
        )
        print(f"floor set by delay and limits: {args.links * DELAY / (PER_HOST * len(HOSTS)):.2f} s")
        for round_ in range(args.rounds):
            order = ["partner-review", "linkinator"] if round_ % 2 == 0 else ["linkinator", "partner-review"]
            rates = {}
            for name in order:
                _stats(args.port, reset=True)
                if name == "partner-review":
                    elapsed, ok = asyncio.run(_partner_review(links))
                else:
                    elapsed, ok = _linkinator(index_url, PER_HOST * len(HOSTS))
                rates[name] = args.links / elapsed
                stats = _stats(args.port)
                most[name] = max([most.get(name, 0)] + [s["most"] for h, s in stats.items() if h in HOSTS])
                if ok != args.links:
                    sys.exit(f"{name} passed {ok} of {args.links} links; the comparison would be meaningless")
                print(f"round {round_ + 1}: {name:<14} {elapsed:6.2f} s  {rates[name]:7.0f} links/s")
            ours.append(rates["partner-review"])
            theirs.append(rates["linkinator"])
            ratios.append(rates["partner-review"] / rates["linkinator"])
        print(
            f"most requests in flight to one host: partner-review {most['partner-review']}, "
            f"linkinator {most['linkinator']}"
        )
        print(f"partner-review: median {statistics.median(ours):.0f} links/s (range {min(ours):.0f}-{max(ours):.0f})")
        print(
            f"linkinator:     median {statistics.median(theirs):.0f} links/s "
            f"(range {min(theirs):.0f}-{max(theirs):.0f})"
        )
        print(f"ratio per round (back-to-back pairs): {', '.join(f'{r:.2f}' for r in ratios)}")
        print(f"headline: linkcheck speed ratio vs linkinator = {statistics.median(ratios):.2f} (goal >= 1.0)")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
