"""PARTNER_REVIEW_RESOLVE: host names answered from the setting instead of DNS (curl's --resolve),
with every guard still in force: the address policy, ALLOWED_NETWORKS, the localhost refusal,
redirect vetting, and TLS checking the certificate against the host name."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from partner_review.models.settings import Settings, get_settings
from partner_review.tasks.net.client import BlockedAddress, HostNotFound, StaticResolver, client
from tests.unit.test_http_guard import PUBLIC, Network

MAPPED = "198.51.100.7"  # TEST-NET-2: not a public address, so the guard's verdict is the point below
PUBLIC_MAPPED = "93.184.215.99"


@pytest.fixture
def settings_env(monkeypatch):
    """Set PARTNER_REVIEW_* variables for one test; the settings are read afresh and restored."""

    def apply(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"PARTNER_REVIEW_{name.upper()}", value)
        get_settings.cache_clear()

    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()


class Asked(StaticResolver):
    """The DNS stand-in: records every name it is asked for."""

    def __init__(self, table):
        super().__init__(table)
        self.asked: list[tuple[str, int]] = []

    async def resolve(self, host: str, port: int) -> list[str]:
        self.asked.append((host, port))
        return await super().resolve(host, port)


def recorded(network: Network, resolver=None, **options) -> httpx.AsyncClient:
    """The client() the stages use, its connection pool replaced by the recorder."""
    http = client(resolver=resolver or Asked({}), **options)
    http._transport._pool_factory = network.pool
    return http


def test_entries_are_read_and_normalised(settings_env):
    settings_env(
        resolve=f" Acme.Example.:443:{PUBLIC_MAPPED} , acme.example:443:[2606:4700::1111],app.acme.example:8443:::1"
    )
    settings = get_settings()
    assert settings.resolve == [
        f"acme.example:443:{PUBLIC_MAPPED}",
        "acme.example:443:[2606:4700::1111]",
        "app.acme.example:8443:[::1]",
    ]
    assert settings.resolve_table == {
        ("acme.example", 443): (PUBLIC_MAPPED, "2606:4700::1111"),
        ("app.acme.example", 8443): ("::1",),
    }
    assert Settings().resolve == settings.resolve  # the same from a fresh load


@pytest.mark.parametrize(
    "entry,words",
    [
        ("acme.example:443", "is not HOST:PORT:ADDRESS"),
        ("acme.example", "is not HOST:PORT:ADDRESS"),
        (":443:127.0.0.1", "has no host name"),
        ("acme example:443:127.0.0.1", "is not an ASCII host name"),
        ("bücher.example:443:127.0.0.1", "xn-- form"),
        ("127.0.0.1:443:10.0.0.1", "the host is an address"),
        ("acme.example:https:127.0.0.1", "the port 'https' is not a number from 1 to 65535"),
        ("acme.example:0:127.0.0.1", "is not a number from 1 to 65535"),
        ("acme.example:70000:127.0.0.1", "is not a number from 1 to 65535"),
        ("acme.example:443:localhost", "'localhost' is not an IP address"),
        ("acme.example:443:", "'' is not an IP address"),
    ],
)
def test_a_malformed_entry_fails_the_settings_load_naming_it(monkeypatch, entry, words):
    monkeypatch.setenv("PARTNER_REVIEW_RESOLVE", f"ok.example:443:{PUBLIC_MAPPED},{entry}")
    with pytest.raises(ValidationError) as caught:
        Settings()
    message = str(caught.value)
    assert f"PARTNER_REVIEW_RESOLVE entry {entry!r}" in message and words in message


async def test_a_mapped_name_goes_to_the_mapped_address_without_asking_dns(settings_env):
    settings_env(resolve=f"partner.example:443:{PUBLIC_MAPPED},partner.example:8443:{PUBLIC}")
    network, dns = Network(), Asked({"partner.example": [PUBLIC]})
    async with recorded(network, dns) as http:
        await http.get("https://partner.example/integrations")
        await http.get("https://Partner.Example.:8443/")
        await http.get("http://partner.example/")  # port 80: not mapped, so DNS answers
    first, second, third = network.sent
    assert first.url.host == PUBLIC_MAPPED and first.url.port is None
    assert first.headers["host"] == "partner.example" and first.extensions["sni_hostname"] == "partner.example"
    assert second.url.host == PUBLIC and second.url.port == 8443
    assert third.url.host == PUBLIC
    assert dns.asked == [("partner.example", 80)]


async def test_a_mapped_address_passes_the_same_guard_as_a_dns_answer(settings_env):
    settings_env(
        resolve="loop.example:80:127.0.0.1,meta.example:80:169.254.169.254,net.example:80:10.1.2.3,"
        f"test.example:80:{MAPPED},localhost:80:{PUBLIC_MAPPED}",
        allowed_networks="",  # the test suite opens 127.0.0.0/8 by default
    )
    network = Network()
    async with recorded(network) as http:
        for host, reason in [
            ("loop.example", "127.0.0.1 is a loopback address"),
            ("meta.example", "169.254.169.254 is a cloud metadata address"),
            ("net.example", "10.1.2.3 is a private-network address"),
            ("test.example", f"{MAPPED} is a private-network address"),
        ]:
            with pytest.raises(BlockedAddress) as caught:
                await http.get(f"http://{host}/")
            assert reason in str(caught.value)
            assert f"PARTNER_REVIEW_RESOLVE maps {host}:80 to" in str(caught.value)
        with pytest.raises(BlockedAddress, match="this machine"):  # refused by name, before any mapping
            await http.get("http://localhost/")
    assert network.sent == []


async def test_allowed_networks_open_a_mapped_address_only_when_they_name_it(settings_env):
    settings_env(resolve="loop.example:80:127.0.0.1,net.example:80:10.1.2.3", allowed_networks="127.0.0.0/8")
    network = Network()
    async with recorded(network) as http:
        await http.get("http://loop.example/")
        with pytest.raises(BlockedAddress, match="10.1.2.3 is a private-network address"):
            await http.get("http://net.example/")
    assert [r.url.host for r in network.sent] == ["127.0.0.1"]


async def test_a_redirect_to_a_mapped_name_is_vetted_as_a_hop(settings_env):
    settings_env(resolve="inside.example:80:10.1.2.3")
    network = Network({"/go": lambda request: httpx.Response(302, headers={"Location": "http://inside.example/"})})
    async with recorded(network, Asked({"partner.example": [PUBLIC]}), follow_redirects=True) as http:
        with pytest.raises(BlockedAddress, match="PARTNER_REVIEW_RESOLVE maps inside.example:80 to 10.1.2.3"):
            await http.get("http://partner.example/go")
    assert [r.url.host for r in network.sent] == [PUBLIC]


async def test_an_unmapped_name_still_needs_dns(settings_env):
    settings_env(resolve=f"partner.example:443:{PUBLIC_MAPPED}")
    async with recorded(Network()) as http:
        with pytest.raises(HostNotFound):
            await http.get("https://other.example/")


async def test_the_volume_stage_vets_with_the_map_too():
    from partner_review.tasks.volume.plan import vetted_url

    settings = Settings(resolve="api.partner.example:8080:127.0.0.1", allowed_networks="127.0.0.0/8")
    url, host, address = await vetted_url("http://api.partner.example:8080/v1/events", settings)
    assert (url, host, address) == ("http://api.partner.example:8080/v1/events", "api.partner.example", "127.0.0.1")
    with pytest.raises(BlockedAddress, match="PARTNER_REVIEW_RESOLVE maps"):
        await vetted_url(
            "http://api.partner.example:8080/v1/events", Settings(resolve=settings.resolve, allowed_networks=[])
        )


@pytest.fixture(scope="module")
def named_site():
    from partner_review.partners import site_running

    with site_running(server_name="acme.example", aliases=["app.acme.example"]) as site:
        yield site


@pytest.mark.parametrize("engine", ["httpcore", "aiohttp"])
async def test_tls_checks_the_certificate_against_the_mapped_name(settings_env, named_site, engine):
    port = named_site.port
    settings_env(
        resolve=",".join(f"{name}:{port}:127.0.0.1" for name in ("acme.example", "app.acme.example", "evil.example")),
        allowed_networks="127.0.0.0/8",
        ca_file=str(named_site.ca_file),
    )
    async with client(engine=engine) as http:
        home = await http.get(f"https://acme.example:{port}/")
        docs = await http.get(f"https://app.acme.example:{port}/docs/segment")
        assert home.status_code == 200 and "Acme Analytics" in home.text
        assert docs.status_code == 200
        # The same server under a name its certificate does not hold: refused by TLS.
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await http.get(f"https://evil.example:{port}/")
