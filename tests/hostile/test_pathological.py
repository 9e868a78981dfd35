"""Pathological inputs the unit tests do not already cover, through the paths a partner reaches.

Covered elsewhere and not repeated here: `tasks.svg.inspect` refusing billion laughs, an external
entity, a remote DTD, `<script>` and other active content, 50 MB and deep nesting
(tests/unit/test_svg.py); the docs linter on a 10 MB page and on deep list, quote, emphasis and
bracket nesting (tests/unit/test_docs_lint.py). Here: the same SVGs inside a submission through
the catalog stage (a clear finding, bounded memory, and no network access even when the DTD or
entity names a live loopback server), the bounded memory of the linter on those pages, and bodies
far over the limit at the receiver.
"""

from __future__ import annotations

import json
import socket
import threading
import tracemalloc

import pytest

from partner_review.models.submission import parse_submission
from partner_review.tasks.catalog.fields import verify_catalog_fields
from partner_review.tasks.docs.lint import lint
from tests.conftest import EXAMPLES

NS = 'xmlns="http://www.w3.org/2000/svg"'
MB = 1024 * 1024


class Listener:
    """A loopback port that counts every connection made to it (none must be)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self._stop = True
        self._thread.join(5)
        self.sock.close()


@pytest.fixture
def listener():
    found = Listener()
    yield found
    found.close()


def hostile_svgs(port: int) -> dict[str, tuple[str, str]]:
    """name -> (svg, words the finding must contain)."""
    laughs = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10)
    )
    return {
        "billion laughs": (
            f'<?xml version="1.0"?><!DOCTYPE svg [{laughs}]><svg {NS}><text>&lol9;</text></svg>',
            "entit",
        ),
        "external entity": (
            f'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY xxe SYSTEM "http://127.0.0.1:{port}/x">]>'
            f"<svg {NS}><text>&xxe;</text></svg>",
            "external",
        ),
        "file entity": (
            '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            f"<svg {NS}><text>&xxe;</text></svg>",
            "external",
        ),
        "remote DTD": (
            f'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://127.0.0.1:{port}/svg11.dtd">'
            f'<svg {NS} viewBox="0 0 10 10"/>',
            f"127.0.0.1:{port}",
        ),
        "parameter entity": (
            f'<!DOCTYPE svg [<!ENTITY % p SYSTEM "http://127.0.0.1:{port}/p.dtd"> %p;]><svg {NS}/>',
            "external",
        ),
        "50 MB": (f"<svg {NS}>" + "<g/>" * (50 * MB // 4) + "</svg>", "larger than"),
        "deep": (f"<svg {NS}>" + "<g>" * 100_000 + "</g>" * 100_000 + "</svg>", "nest"),
    }


def catalog_results_for(logo: str) -> dict[str, object]:
    data = json.loads((EXAMPLES / "submission.json").read_text())
    data["app"]["logo_svg"] = logo
    tracemalloc.start()
    try:
        results = verify_catalog_fields(parse_submission(data))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return {"results": results, "peak": peak}


@pytest.mark.parametrize(
    "name", ["billion laughs", "external entity", "file entity", "remote DTD", "parameter entity", "deep"]
)
def test_hostile_logo_is_a_clear_catalog_finding_in_bounded_memory_without_network(name, listener):
    svg, words = hostile_svgs(listener.port)[name]
    found = catalog_results_for(svg)
    logo = [r for r in found["results"] if r.evidence.get("field") == "app.logo_svg" and r.outcome == "fail"]
    assert logo, [(r.check, r.outcome, r.message) for r in found["results"]][:5]
    message = logo[0].message
    assert message.startswith("app.logo_svg is refused: ") and words.lower() in message.lower(), message
    assert len(message) < 500  # a sentence for the partner, not the document echoed back
    assert found["peak"] < 32 * MB  # the 50 MB input itself is allocated before measuring
    assert listener.connections == 0  # nothing was fetched for a DTD or an entity


def test_a_fifty_megabyte_logo_is_refused_by_the_submission_schema_naming_the_field():
    from partner_review.models.submission import InvalidSubmission

    data = json.loads((EXAMPLES / "submission.json").read_text())
    data["app"]["logo_svg"] = hostile_svgs(1)["50 MB"][0]
    tracemalloc.start()
    try:
        with pytest.raises(InvalidSubmission) as refused:
            parse_submission(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert any(p.startswith("app.logo_svg:") for p in refused.value.problems)
    assert peak < 32 * MB


def test_script_in_the_logo_is_reported_as_active_content():
    found = catalog_results_for(f'<svg {NS} viewBox="0 0 240 60"><script>fetch("//x")</script></svg>')
    active = [r for r in found["results"] if r.outcome == "fail" and "script" in r.message]
    assert active and active[0].evidence["dangers"] == {"app.logo_svg": ["<script> element"]}


GOOD_PAGE = json.loads((EXAMPLES / "submission.json").read_text())["app"]["docs"]["segment_markdown"]


@pytest.mark.parametrize(
    "name,page",
    [
        ("10 MB", GOOD_PAGE + "\nfiller with a [link](https://acme.example)\n" * 240_000),
        ("deep lists", GOOD_PAGE + "\n" + "- " * 50_000 + "x\n"),
        ("deep quotes", GOOD_PAGE + "\n" + "> " * 50_000 + "x\n"),
        ("unclosed brackets", GOOD_PAGE + "\n" + "[" * 200_000 + "\n"),
        ("emphasis runs", GOOD_PAGE + "\n" + "*a _b " * 100_000 + "\n"),
        ("html nesting", GOOD_PAGE + "\n" + "<div>" * 100_000 + "\n"),
        ("table width", GOOD_PAGE + "\n" + "|a" * 50_000 + "|\n" + "|-" * 50_000 + "|\n"),
    ],
)
def test_pathological_markdown_has_a_finding_in_bounded_memory(name, page):
    tracemalloc.start()
    try:
        results = lint(page)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * MB, f"{name}: {peak / MB:.0f} MB"
    readable = next(r for r in results if r.check == "DOC-002")
    if len(page.encode()) > 128 * 1024:
        assert readable.outcome == "fail" and "too large" in readable.message
    assert all(r.outcome in ("pass", "warn", "fail", "skip") for r in results)


def test_body_far_over_the_limit_is_refused_before_it_is_read(receiver_client):
    from partner_review.webhooks.signing import DELIVERY_HEADER, HEADER, sign

    # A well-formed, fresh signature header: the size is what is refused (a missing one is a 401 first).
    signature = {HEADER: sign("x", b"")}
    declared = receiver_client.post(
        "/webhooks/submissions",
        content=b"{" + b" " * (50 * MB) + b"}",
        headers={DELIVERY_HEADER: "big-1", "content-type": "application/json", **signature},
    )
    assert declared.status_code == 413 and "limit" in declared.json()["error"]

    sent = 0

    def chunks():  # no Content-Length: the receiver must stop reading at the limit itself
        nonlocal sent
        for _ in range(800):
            sent += 64 * 1024
            yield b" " * (64 * 1024)

    streamed = receiver_client.post(
        "/webhooks/submissions",
        content=chunks(),
        headers={DELIVERY_HEADER: "big-2", "content-type": "application/json", **signature},
    )
    assert streamed.status_code == 413


@pytest.mark.parametrize(
    "name,content",
    [
        ("deep", b"[" * 100_000 + b"]" * 100_000),
        ("huge int", b'{"version": ' + b"7" * 5000 + b"}"),
    ],
)
def test_check_on_a_hostile_file_exits_2_with_one_line(tmp_path, name, content):
    import subprocess
    import sys

    path = tmp_path / "submission.json"
    path.write_bytes(content)
    done = subprocess.run(
        [sys.executable, "-m", "partner_review.cli.main", "check", str(path), "--offline"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert len(done.stderr.strip().splitlines()) == 1 and "not valid JSON" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
