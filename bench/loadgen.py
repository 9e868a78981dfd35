"""Benchmark: the volume test's load generator against wrk, on the same loopback server.

    .venv/bin/python bench/loadgen.py [--seconds 3] [--connections 64] [--no-uvicorn]

The server is a raw asyncio HTTP/1.1 server in its own process (it answers every request with a
fixed 200 and reads request bodies by Content-Length), fast enough that wrk, not the server, sets
the ceiling. Against it, in one run: wrk (C, one thread) and the generator (one process, the
engine of tasks/volume.py, saturating schedule) for requests/s and their ratio; the generator with
two processes; the generator holding Segment's 1,000 requests/s open-loop (achieved rate, p99);
and batch mode (events/s). For comparison with a common Python server, the same wrk/generator
pair against uvicorn serving a bare ASGI app (there the server is the ceiling for both).
Last line: `headline: loadgen/wrk ratio = <value> (goal >= 0.6)`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRET = "acme-api-key-for-review"
HEADERS = {"Content-Type": "application/json", "Authorization": f"Bearer {SECRET}"}
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
SATURATE = 100_000.0  # requests/s asked of the generator in throughput runs: more than it can send


# Servers (run in a child process: `loadgen.py --serve raw|uvicorn`) -------------------------------


class Answer(asyncio.Protocol):
    """HTTP/1.1 keep-alive: for each complete request (headers + Content-Length body), one 200."""

    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""

    def data_received(self, data):
        buffer = self.buffer + data if self.buffer else data
        answers = 0
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            start = buffer.find(b"ength:", 0, end)  # Content-Length / content-length
            length = 0
            if start >= 0:
                stop = buffer.find(b"\r\n", start, end + 2)
                length = int(buffer[start + 6 : stop])
            if len(buffer) < end + 4 + length:
                break
            buffer = buffer[end + 4 + length :]
            answers += 1
        self.buffer = buffer
        if answers:
            self.transport.write(ANSWER * answers)


async def bare_asgi(scope, receive, send):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"2")],
        }
    )
    await send({"type": "http.response.body", "body": b"{}"})


def serve(kind: str) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)
    print(sock.getsockname()[1], flush=True)
    if kind == "uvicorn":
        import uvicorn

        config = uvicorn.Config(bare_asgi, log_level="error", access_log=False, lifespan="off", loop="asyncio")
        uvicorn.Server(config).run(sockets=[sock])
        return

    async def main():
        server = await asyncio.get_running_loop().create_server(Answer, sock=sock)
        await server.serve_forever()

    asyncio.run(main())


class Server:
    """A benchmark server in a child process, stopped on exit."""

    def __init__(self, kind: str):
        self.kind = kind

    def __enter__(self) -> str:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", self.kind], stdout=subprocess.PIPE, text=True
        )
        port = self.process.stdout.readline().strip()
        if not port.isdigit():
            self.process.kill()
            raise RuntimeError(f"the {self.kind} benchmark server did not start")
        return f"http://127.0.0.1:{port}/v1/events"

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


# Clients ---------------------------------------------------------------------------------------


def run_wrk(url: str, seconds: float, connections: int, threads: int, body: bytes) -> float:
    """wrk's requests/s POSTing `body` with the same headers as the generator."""
    script = (
        "wrk.method = 'POST'\n"
        + f"wrk.body = {json.dumps(body.decode())}\n"
        + "".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}\n" for k, v in HEADERS.items())
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        lua.write(script)
        lua.flush()
        out = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-s", lua.name, url],
            capture_output=True,
            text=True,
            timeout=seconds + 30,
            check=True,
        ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not match:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: .*", out)
    if errors:
        print(f"  wrk reported: {errors.group(0)}")
    return float(match.group(1))


def plan_for(url: str, *, rate: float, seconds: float, connections: int, processes: int = 1, batch: int | None = None):
    from partner_review.models.events import generate
    from partner_review.models.settings import get_settings
    from partner_review.tasks.volume.load import BODY_VARIANTS, Plan, build_bodies

    events = generate(BODY_VARIANTS if batch is None else min(batch, 500))
    bodies, counts = build_bodies(events, batch_size=batch, max_seq=int(rate * seconds) + 1, settings=get_settings())
    return Plan(
        url=url,
        host="127.0.0.1",
        address="127.0.0.1",
        headers=HEADERS,
        bodies=bodies,
        events_per_body=counts,
        rate=rate,
        duration=seconds,
        timeout=10.0,
        connections=max(1, connections // processes),
        processes=processes,
    )


def run_loadgen(plan):
    from partner_review.tasks.volume.load import generate_load

    m = asyncio.run(generate_load(plan))
    bad = sum(n for s, n in m.status_counts.items() if s != 200) + m.errors
    if bad:
        print(f"  generator saw {bad} non-200 answers or failures: {m.status_counts} {m.transport_errors}")
    return m


def sample_body() -> bytes:
    from partner_review.models.events import generate

    return json.dumps(generate(1)[0], separators=(",", ":")).encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--no-uvicorn", action="store_true", help="skip the uvicorn comparison")
    parser.add_argument("--serve", choices=("raw", "uvicorn"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    import aiohttp

    seconds, conns = args.seconds, args.connections
    body = sample_body()
    print(
        f"loopback, {seconds:g} s per run, {conns} connections, event body {len(body)} bytes; "
        f"generator engine aiohttp {aiohttp.__version__}, Python {sys.version.split()[0]}"
    )

    with Server("raw") as url:
        wrk1 = run_wrk(url, seconds, conns, 1, body)
        one = run_loadgen(plan_for(url, rate=SATURATE, seconds=seconds, connections=conns))
        gen1 = one.responses / seconds
        wrk2 = run_wrk(url, seconds, conns, 2, body)
        two = run_loadgen(plan_for(url, rate=SATURATE, seconds=seconds, connections=conns, processes=2))
        gen2 = two.responses / seconds
        held = run_loadgen(plan_for(url, rate=1000, seconds=seconds, connections=256))
        held_p99 = held.latency.percentile(99) / 1000
        batch = run_loadgen(plan_for(url, rate=SATURATE, seconds=seconds, connections=conns, batch=500))
        per_batch = batch.events_sent / max(batch.sent, 1)
        events_per_s = batch.responses * per_batch / seconds
    print(f"raw asyncio server  wrk -t1:      {wrk1:10,.0f} requests/s")
    print(f"raw asyncio server  generator x1: {gen1:10,.0f} requests/s   (ratio {gen1 / wrk1:.2f})")
    print(f"raw asyncio server  wrk -t2:      {wrk2:10,.0f} requests/s")
    print(f"raw asyncio server  generator x2: {gen2:10,.0f} requests/s   (ratio {gen2 / wrk2:.2f}, 2 processes)")
    print(
        f"open loop at 1,000 requests/s:    {held.responses / seconds:10,.0f} requests/s answered, "
        f"p99 {held_p99:.1f} ms from the intended send time, {held.unsent} left unsent"
    )
    print(
        f"batch mode ({per_batch:.0f} events/batch):   {events_per_s:10,.0f} events/s "
        f"({batch.responses / seconds:,.0f} batches/s, goal >= 20,000 events/s)"
    )
    if not args.no_uvicorn:
        with Server("uvicorn") as url:
            wrk_u = run_wrk(url, seconds, conns, 1, body)
            gen_u = run_loadgen(plan_for(url, rate=SATURATE, seconds=seconds, connections=conns)).responses / seconds
        print(f"uvicorn bare ASGI   wrk -t1:      {wrk_u:10,.0f} requests/s")
        print(
            f"uvicorn bare ASGI   generator x1: {gen_u:10,.0f} requests/s   (ratio {gen_u / wrk_u:.2f}; "
            "the server is the ceiling here)"
        )
    print(f"headline: loadgen/wrk ratio = {gen1 / wrk1:.2f} (goal >= 0.6)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
