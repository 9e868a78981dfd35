"""The outbound client's guard and the Fetcher, with the network replaced by a recorder.

`Network` stands in for the connection pool under the guard: whatever reaches it is what would
have been sent on the wire. A refused URL must leave it empty (refusal before any connection).
"""

from __future__ import annotations

import asyncio
import gzip
import ipaddress

import httpx
import pytest

from partner_review.models.settings import get_settings
from partner_review.tasks.net.client import (
    BlockedAddress,
    GuardedTransport,
    HostNotFound,
    SchemeNotAllowed,
    StaticResolver,
    TooLarge,
    blocked_reason,
    client,
    numeric_host,
    read_text,
    vet_address,
)
from partner_review.tasks.net.fetcher import Fetcher, HostGate, parse_status_ranges

# Public addresses for the resolver table; nothing is ever sent to them (the Network records).
PUBLIC = "93.184.215.14"
PUBLIC_2 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"

RESOLVER = StaticResolver(
    {
        "partner.example": [PUBLIC],
        "v6.partner.example": [PUBLIC_2],
        "loopback.partner.example": ["127.0.0.1"],
        "metadata.partner.example": ["169.254.169.254"],
        "private.partner.example": ["10.1.2.3"],
        "mixed.partner.example": ["192.168.0.7", PUBLIC],
    }
)


class Network:
    """Records requests that passed the guard and answers them from `routes` (path -> handler)."""

    def __init__(self, routes=None):
        self.sent: list[httpx.Request] = []
        self.routes = routes or {}

    def pool(self) -> httpx.AsyncBaseTransport:
        return httpx.MockTransport(self._handle)

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        handler = self.routes.get(request.url.path)
        if handler is None:
            return httpx.Response(200, text="<title>ok</title>", headers={"Content-Type": "text/html"})
        result = handler(request)
        return await result if asyncio.iscoroutine(result) else result


def guarded(network: Network, *, allowed=(), resolver=RESOLVER, **options) -> httpx.AsyncClient:
    transport = GuardedTransport(
        allowed_networks=[ipaddress.ip_network(n) for n in allowed],
        resolver=resolver,
        pool_factory=network.pool,
        **options,
    )
    return httpx.AsyncClient(transport=transport, max_redirects=5)


SSRF = [
    ("http://127.0.0.1/", BlockedAddress),
    ("http://127.0.0.1:8080/admin", BlockedAddress),
    ("http://localhost/", BlockedAddress),
    ("http://app.localhost/", BlockedAddress),
    ("http://[::1]/", BlockedAddress),
    ("http://10.0.0.1/", BlockedAddress),
    ("http://172.16.0.1/", BlockedAddress),
    ("http://192.168.1.1/", BlockedAddress),
    ("http://169.254.169.254/latest/meta-data/", BlockedAddress),
    ("http://0.0.0.0/", BlockedAddress),
    ("http://2130706433/", BlockedAddress),
    ("http://0x7f.1/", BlockedAddress),
    ("http://0177.0.0.1/", httpx.InvalidURL),  # httpx itself refuses dotted forms it cannot read
    ("http://127.1/", BlockedAddress),
    ("http://[::ffff:127.0.0.1]/", BlockedAddress),
    ("http://[::ffff:a9fe:a9fe]/", BlockedAddress),  # 169.254.169.254, IPv4-mapped
    ("http://[::]/", BlockedAddress),
    ("http://[fe80::1]/", BlockedAddress),
    ("http://[fd00:ec2::254]/", BlockedAddress),
    ("http://[64:ff9b::a00:1]/", BlockedAddress),  # NAT64 form of 10.0.0.1
    ("http://100.100.100.200/", BlockedAddress),
    ("http://100.64.0.1/", BlockedAddress),
    ("http://224.0.0.1/", BlockedAddress),
    ("http://255.255.255.255/", BlockedAddress),
    ("http://999.1.1.1/", httpx.InvalidURL),
    ("http://0x7f.0x0.0.0x1.5/", BlockedAddress),  # numeric but not an address: refused, never resolved
    ("https://loopback.partner.example/", BlockedAddress),
    ("http://metadata.partner.example/", BlockedAddress),
    ("http://private.partner.example/", BlockedAddress),
    ("file:///etc/passwd", SchemeNotAllowed),
    ("gopher://partner.example:70/_GET", SchemeNotAllowed),
    ("ftp://partner.example/file", SchemeNotAllowed),
]


@pytest.mark.parametrize("url,error", SSRF, ids=[u for u, _ in SSRF])
async def test_guard_refuses_before_connecting(url, error):
    network = Network()
    async with guarded(network) as http:  # guard ON: no allowed networks
        with pytest.raises(error) as caught:
            await http.get(url)
    assert network.sent == []
    if error is httpx.InvalidURL:
        return
    message = str(caught.value)
    assert (
        "public internet address" in message
        or "localhost" in message
        or "scheme" in message
        or "not a valid IP address" in message
        or "http or https" in message
    )


async def test_default_setting_allows_nothing(monkeypatch):
    monkeypatch.setenv("PARTNER_REVIEW_ALLOWED_NETWORKS", "")
    get_settings.cache_clear()
    try:
        assert get_settings().allowed_networks == []
        async with client() as http:
            with pytest.raises(BlockedAddress):
                await http.get("http://127.0.0.1:9/")
            assert http._transport.allowed_networks == ()
    finally:
        get_settings.cache_clear()


def test_allowed_networks_setting_is_parsed(monkeypatch):
    monkeypatch.setenv("PARTNER_REVIEW_ALLOWED_NETWORKS", "127.0.0.0/8, ::1/128")
    get_settings.cache_clear()
    try:
        transport = client()._transport
        assert [str(n) for n in transport.allowed_networks] == ["127.0.0.0/8", "::1/128"]
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize(
    "host,expected",
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("8.8.8.8", "8.8.8.8"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("[::1]", "::1"),
        ("example.com", None),
        ("09.1.1.1", None),
        ("256.1.1.1", None),
        ("1.2.3.4.5", None),
    ],
)
def test_numeric_hosts_are_read_like_inet_aton(host, expected):
    found = numeric_host(host)
    assert (str(found) if found else None) == expected


@pytest.mark.parametrize("address", ["8.8.8.8", PUBLIC, PUBLIC_2, "2606:4700:4700::1111"])
def test_public_addresses_pass(address):
    assert blocked_reason(ipaddress.ip_address(address)) is None


def test_allowed_networks_open_only_what_they_name():
    allowed = [ipaddress.ip_network("127.0.0.0/8")]
    assert vet_address(ipaddress.ip_address("127.0.0.1"), allowed) is None
    assert vet_address(ipaddress.ip_address("::ffff:127.0.0.1"), allowed) is None
    assert vet_address(ipaddress.ip_address("10.0.0.1"), allowed) == "a private-network address"
    assert vet_address(ipaddress.ip_address("::1"), allowed) == "a loopback address"


async def test_connects_to_the_vetted_address_keeping_host_and_sni():
    network = Network()
    async with guarded(network) as http:
        response = await http.get("https://partner.example/integrations?x=1")
        await http.get("http://v6.partner.example:8080/")
    assert response.status_code == 200
    assert str(response.request.url) == "https://partner.example/integrations?x=1"
    first, second = network.sent
    assert first.url.host == PUBLIC and first.url.scheme == "https" and first.url.query == b"x=1"
    assert first.headers["host"] == "partner.example"
    assert first.extensions["sni_hostname"] == "partner.example"
    assert second.url.host == PUBLIC_2 and second.url.port == 8080
    assert second.headers["host"] == "v6.partner.example:8080"
    assert "sni_hostname" not in second.extensions


async def test_resolves_once_and_never_rebinds():
    class Rebinding:
        """Public on the first lookup, loopback afterwards (a DNS-rebinding attacker)."""

        def __init__(self):
            self.calls = 0

        async def resolve(self, host, port):
            self.calls += 1
            return [PUBLIC] if self.calls == 1 else ["127.0.0.1"]

    resolver = Rebinding()
    network = Network()
    async with guarded(network, resolver=resolver) as http:
        await http.get("http://rebind.example/")
        with pytest.raises(BlockedAddress, match="resolves to 127.0.0.1"):
            await http.get("http://rebind.example/")
    assert resolver.calls == 2  # one lookup per request, none between vetting and connecting
    assert [r.url.host for r in network.sent] == [PUBLIC]


async def test_a_name_with_a_private_and_a_public_address_uses_the_public_one():
    network = Network()
    async with guarded(network) as http:
        await http.get("http://mixed.partner.example/")
    assert [r.url.host for r in network.sent] == [PUBLIC]


async def test_unknown_name_is_a_transport_error():
    async with guarded(Network()) as http:
        with pytest.raises(HostNotFound) as caught:
            await http.get("http://nowhere.example/")
    assert isinstance(caught.value, httpx.TransportError)


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1/",
        "http://localhost:8080/",
        "http://[::1]/",
        "http://10.0.0.1/",
        "http://172.16.0.1/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0/",
        "http://2130706433/",
        "http://[::ffff:127.0.0.1]/",
        "http://loopback.partner.example/",
    ],
)
async def test_every_redirect_hop_is_vetted(location):
    network = Network({"/go": lambda r: httpx.Response(302, headers={"Location": location})})
    async with guarded(network) as http:
        with pytest.raises(BlockedAddress):
            await http.get("http://partner.example/go", follow_redirects=True)
        fetched = await Fetcher(http._transport, interval=0).page("http://partner.example/go")
    assert [r.url.path for r in network.sent] == ["/go", "/go"]  # the hop itself never went out
    assert fetched.error_kind == "BlockedAddress" and fetched.redirects[0]["location"] == location


@pytest.mark.parametrize("location", ["file:///etc/passwd", "gopher://partner.example/", "ftp://partner.example/"])
async def test_redirect_to_another_scheme_is_refused(location):
    network = Network({"/go": lambda r: httpx.Response(302, headers={"Location": location})})
    async with guarded(network) as http:
        with pytest.raises((SchemeNotAllowed, httpx.UnsupportedProtocol)):
            await http.get("http://partner.example/go", follow_redirects=True)
        fetched = await Fetcher(http._transport, interval=0).page("http://partner.example/go")
    assert len(network.sent) == 2
    assert fetched.error_kind == "SchemeNotAllowed" and "never followed" in fetched.error


async def test_redirects_are_capped():
    network = Network(
        {f"/{i}": (lambda i: lambda r: httpx.Response(302, headers={"Location": f"/{i + 1}"}))(i) for i in range(10)}
    )
    async with guarded(network) as http:
        with pytest.raises(httpx.TooManyRedirects):
            await http.get("http://partner.example/0", follow_redirects=True)
        fetched = await Fetcher(http._transport, interval=0, max_redirects=5).page("http://partner.example/0")
    assert fetched.error_kind == "TooManyRedirects" and "more than 5 times" in fetched.error
    assert len(fetched.redirects) == 6


async def test_body_is_capped_declared_streamed_and_decompressed():
    bomb = gzip.compress(b"\0" * (4 * 1024 * 1024))
    network = Network(
        {
            "/big": lambda r: httpx.Response(200, content=b"x" * 4096),
            "/declared": lambda r: httpx.Response(200, content=b"x" * 10, headers={"Content-Length": "999999"}),
            "/bomb": lambda r: httpx.Response(200, content=bomb, headers={"Content-Encoding": "gzip"}),
            "/small-gzip": lambda r: httpx.Response(
                200, content=gzip.compress(b"hello"), headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"}
            ),
        }
    )
    async with guarded(network, max_response_bytes=2048) as http:
        for path in ("/big", "/declared", "/bomb"):
            with pytest.raises(TooLarge, match="more than"):
                await http.get(f"http://partner.example{path}")
        assert len(bomb) < 2048 * 4 * 2  # the cap counts decompressed bytes, not the few KiB sent
        response = await http.get("http://partner.example/small-gzip")
        assert response.text == "hello"


async def test_read_text_refuses_binary_and_honours_the_cap():
    network = Network(
        {
            "/png": lambda r: httpx.Response(200, content=b"\x89PNG", headers={"Content-Type": "image/png"}),
            "/latin": lambda r: httpx.Response(
                200, content="café".encode("latin-1"), headers={"Content-Type": "text/plain; charset=iso-8859-1"}
            ),
        }
    )
    async with guarded(network) as http:
        async with http.stream("GET", "http://partner.example/png") as response:
            with pytest.raises(ValueError, match="image/png"):
                await read_text(response)
        async with http.stream("GET", "http://partner.example/latin") as response:
            assert await read_text(response) == "café"
        async with http.stream("GET", "http://partner.example/latin") as response:
            with pytest.raises(TooLarge):
                await read_text(response, max_bytes=2)


# Fetcher ---------------------------------------------------------------------------------------


def test_status_ranges():
    assert parse_status_ranges("200-204, 403") == {200, 201, 202, 203, 204, 403}
    with pytest.raises(ValueError):
        parse_status_ranges("99-200")


async def test_client_itself_never_retries():
    network = Network({"/down": lambda r: httpx.Response(503)})
    async with guarded(network) as http:
        assert (await http.get("http://partner.example/down")).status_code == 503
    assert len(network.sent) == 1


async def test_fetcher_retries_5xx_and_honours_capped_retry_after():
    answers = iter(
        [
            httpx.Response(503),
            httpx.Response(429, headers={"Retry-After": "3600"}),
            httpx.Response(200, text="fine", headers={"Content-Type": "text/plain"}),
        ]
    )
    network = Network({"/flaky": lambda r: next(answers)})
    slept: list[float] = []

    async def sleep(seconds):
        slept.append(seconds)

    async with guarded(network) as http:
        fetched = await Fetcher(
            http._transport, interval=0, retries=2, backoff=0.5, retry_after_max=7, sleep=sleep
        ).page("http://partner.example/flaky")
    assert fetched.status == 200 and fetched.text == "fine" and fetched.attempts == 3
    assert 0.25 <= slept[0] <= 0.5 and slept[1] == 7


async def test_fetcher_gives_up_after_its_retries():
    network = Network({"/limited": lambda r: httpx.Response(429, headers={"Retry-After": "1"})})

    async def sleep(seconds):
        pass

    async with guarded(network) as http:
        fetched = await Fetcher(http._transport, interval=0, retries=2, sleep=sleep).link(
            "http://partner.example/limited"
        )
    assert fetched.status == 429
    assert [r.method for r in network.sent] == ["HEAD"] * 3  # no GET fallback on a rate-limited host


async def test_fetcher_does_not_retry_refusals_or_client_errors():
    network = Network({"/gone": lambda r: httpx.Response(404)})
    async with guarded(network) as http:
        fetcher = Fetcher(http._transport, interval=0, retries=3)
        blocked = await fetcher.page("http://loopback.partner.example/")
        gone = await fetcher.page("http://partner.example/gone")
    assert blocked.error_kind == "BlockedAddress" and blocked.attempts == 1
    assert gone.status == 404 and gone.attempts == 1


async def test_fetcher_head_falls_back_to_get():
    network = Network({"/no-head": lambda r: httpx.Response(405 if r.method == "HEAD" else 200)})
    async with guarded(network) as http:
        fetched = await Fetcher(http._transport, interval=0).link("http://partner.example/no-head")
    assert fetched.status == 200 and fetched.method == "GET" and "HEAD answered 405" in fetched.note


async def test_fetcher_fetches_each_url_once():
    network = Network()
    async with guarded(network) as http:
        fetcher = Fetcher(http._transport, interval=0)
        url = "http://partner.example/page"
        page = await fetcher.page(url)
        results = await asyncio.gather(*(fetcher.link(url) for _ in range(5)), fetcher.page(url))
        await asyncio.gather(*(fetcher.link("http://partner.example/other") for _ in range(5)))
    assert all(r is page for r in results)
    assert [r.url.path for r in network.sent] == ["/page", "/other"]


async def test_fetcher_limits_requests_in_flight_per_host():
    state = {"now": 0, "most": 0}

    async def slow(request):
        state["now"] += 1
        state["most"] = max(state["most"], state["now"])
        await asyncio.sleep(0.01)
        state["now"] -= 1
        return httpx.Response(200)

    network = Network({f"/{i}": slow for i in range(30)})
    async with guarded(network) as http:
        fetcher = Fetcher(http._transport, interval=0, host_concurrency=3)
        results = await asyncio.gather(*(fetcher.link(f"http://partner.example/{i}") for i in range(30)))
    assert all(r.status == 200 for r in results)
    assert state["most"] == 3


async def test_host_gate_spaces_request_starts():
    now = [100.0]
    waits: list[float] = []

    async def sleep(seconds):
        waits.append(round(seconds, 6))

    gate = HostGate(10, 0.05, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):  # four requests asking at the same moment
        async with gate:
            pass
    now[0] += 1.0  # a request long after the last one starts at once
    async with gate:
        pass
    assert waits == [0.05, 0.1, 0.15]


async def test_fetcher_uses_one_gate_per_host():
    network = Network()
    async with guarded(network) as http:
        fetcher = Fetcher(http._transport, interval=0.05)
        await asyncio.gather(
            fetcher.link("http://partner.example/a"),
            fetcher.link("http://v6.partner.example/b"),
            fetcher.link("http://partner.example/c"),
        )
    assert set(fetcher._gates) == {"partner.example", "v6.partner.example"}


# One bounded read ----------------------------------------------------------------------------


async def test_read_up_to_stops_past_the_limit_and_says_there_was_more():
    from partner_review.tasks.net.client import read_capped, read_up_to

    pulled: list[int] = []

    async def endless():
        for i in range(10_000):
            pulled.append(i)
            yield b"x" * 1000

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=endless())

    async with client(transport=httpx.MockTransport(answer)) as http:
        async with http.stream("GET", "https://acme.example/") as response:
            body, more = await read_up_to(response, 2500)
        assert (body, more) == (b"x" * 2500, True) and len(pulled) == 3
        async with http.stream("GET", "https://acme.example/") as response:
            with pytest.raises(TooLarge):
                await read_capped(response, 2500)

    def small(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"hello")

    async with client(transport=httpx.MockTransport(small)) as http:
        async with http.stream("GET", "https://acme.example/") as response:
            assert await read_up_to(response, 5) == (b"hello", False)
        async with http.stream("GET", "https://acme.example/") as response:
            assert await read_capped(response, 5) == b"hello"


@pytest.mark.parametrize(
    "url",
    [
        "https://xn--a.example/",
        "https://a\u200b.example/",
        "https://ex\x00ample.com/",
        "https://xn--80ak6aa92e.com\udcff/",
    ],
)
async def test_a_url_that_cannot_be_built_is_an_outbound_error(url):
    """httpx lets the idna package's UnicodeError (and its own InvalidURL) escape; the guarded client maps them."""
    from partner_review.tasks.net.client import client
    from partner_review.tasks.net.errors import InvalidHost

    async with client() as http:
        with pytest.raises(InvalidHost, match="is not a valid URL"):
            await http.get(url)
