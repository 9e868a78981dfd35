"""Issue 25 item 10: an access request proves control of its company domain over https or in a DNS
TXT record, against a real HTTPS server and a real DNS server (dnspython's wire format over UDP) on
loopback; until then ACC-009 is pending with the exact instructions. A company name using the
platform's marks is flagged (ACC-010)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from partner_review.models.access import parse_access_request
from partner_review.models.settings import get_settings
from partner_review.partners.site import make_certificates
from partner_review.tasks.access import ownership
from partner_review.tasks.access.checks import check_access
from tests.conftest import EXAMPLES
from tests.e2e.sites import Site, page, status

DOMAIN = "acme.example"


class TxtServer(asyncio.DatagramProtocol):
    """A DNS server answering TXT queries from a table (NXDOMAIN for other names)."""

    def __init__(self, records: dict[str, list[str]]):
        self.records = records
        self.queries = 0

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.queries += 1
        query = dns.message.from_wire(data)
        answer = dns.message.make_response(query)
        question = query.question[0]
        name = question.name.to_text().rstrip(".")
        if question.rdtype == dns.rdatatype.TXT and name in self.records:
            texts = [f'"{t}"' for t in self.records[name]]
            answer.answer.append(dns.rrset.from_text(question.name, 60, "IN", "TXT", *texts))
        else:
            answer.set_rcode(dns.rcode.NXDOMAIN)
        self.transport.sendto(answer.to_wire(), addr)


@contextlib.asynccontextmanager
async def dns_server(records):
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(lambda: TxtServer(records), local_addr=("127.0.0.1", 0))
    try:
        yield protocol, transport.get_extra_info("sockname")[1]
    finally:
        transport.close()


def request(port: int, name: str = "Acme Analytics Inc."):
    data = json.loads((EXAMPLES / "access-request.json").read_text())
    data["company"].update(name=name, website=f"https://{DOMAIN}:{port}")
    data["contact"]["email"] = f"dana@{DOMAIN}"
    return parse_access_request(data)


@pytest.fixture
def proof_env(monkeypatch, tmp_path):
    def set_up(site_port: int, dns_port: int) -> None:
        monkeypatch.setenv("PARTNER_REVIEW_ACCESS_DOMAIN_PROOF", "true")
        monkeypatch.setenv("PARTNER_REVIEW_DNS_NAMESERVERS", f"127.0.0.1:{dns_port}")
        monkeypatch.setenv("PARTNER_REVIEW_DNS_TIMEOUT_SECONDS", "2")
        monkeypatch.setenv("PARTNER_REVIEW_RESOLVE", f"{DOMAIN}:{site_port}:127.0.0.1")
        monkeypatch.setenv("PARTNER_REVIEW_CA_FILE", str(tmp_path / "ca.pem"))
        monkeypatch.setenv("PARTNER_REVIEW_WEBHOOK_SECRET", "proof-secret")
        get_settings.cache_clear()

    yield set_up
    get_settings.cache_clear()


def https_site(tmp_path) -> Site:
    ca, cert, key = make_certificates(DOMAIN)
    (tmp_path / "ca.pem").write_bytes(ca)
    (tmp_path / "cert.pem").write_bytes(cert)
    (tmp_path / "key.pem").write_bytes(key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return Site(ssl=context)


async def results_of(req):
    return {r.check: r for r in await check_access(req, approved=[], settings=get_settings())}


async def test_pending_until_proven_with_the_exact_instructions(proof_env, tmp_path):
    async with https_site(tmp_path) as site, dns_server({}) as (dns_, dns_port):
        site.route("/", page("<h1>Acme Analytics Inc.</h1>")).route(ownership.PROOF_PATH, status(404))
        proof_env(site.port, dns_port)
        req = request(site.port)
        found = (await results_of(req))["ACC-009"]
        token = ownership.verification_token(req, get_settings())
    assert found.outcome == "skip" and found.not_run == "not-verified" and found.severity == "warning"
    assert f"https://{DOMAIN}:{site.port}{ownership.PROOF_PATH}" in found.message
    assert f"partner-review-verification={token}" in found.message and dns_.queries >= 1
    assert found.evidence["https"]["status"] == 404 and "NXDOMAIN" in found.evidence["dns"]["error"]


async def test_proven_by_the_file_over_https(proof_env, tmp_path):
    async with https_site(tmp_path) as site, dns_server({}) as (dns_, dns_port):
        proof_env(site.port, dns_port)
        req = request(site.port)
        token = ownership.verification_token(req, get_settings())
        site.route(ownership.PROOF_PATH, page(token + "\n", content_type="text/plain"))
        found = (await results_of(req))["ACC-009"]
    assert found.outcome == "pass" and found.evidence["method"] == "https" and dns_.queries == 0


async def test_proven_by_a_dns_txt_record(proof_env, tmp_path):
    async with https_site(tmp_path) as site:
        site.route(ownership.PROOF_PATH, status(404))
        proof_env(site.port, 0)
        req = request(site.port)
        token = ownership.verification_token(req, get_settings())
        records = {DOMAIN: ["v=spf1 -all", f"partner-review-verification={token}"]}
        async with dns_server(records) as (dns_, dns_port):
            proof_env(site.port, dns_port)
            found = (await results_of(req))["ACC-009"]
            wrong = ownership.verification_token(request(site.port, "Other"), get_settings())
    assert found.outcome == "pass" and found.evidence["method"] == "dns" and dns_.queries == 1
    assert wrong == token  # the token depends on the domain and contact, not on the name


async def test_a_wrong_token_does_not_prove_it_and_the_platform_name_is_flagged(proof_env, tmp_path):
    async with https_site(tmp_path) as site:
        site.route(ownership.PROOF_PATH, page("not-the-token", content_type="text/plain"))
        async with dns_server({DOMAIN: ["partner-review-verification=forged"]}) as (dns_, dns_port):
            proof_env(site.port, dns_port)
            results = await results_of(request(site.port, name="Segment Tools Inc."))
    assert results["ACC-009"].outcome == "skip"
    assert results["ACC-010"].outcome == "warn" and "'Segment'" in results["ACC-010"].message


async def test_off_by_default_and_offline(monkeypatch):
    monkeypatch.delenv("PARTNER_REVIEW_ACCESS_DOMAIN_PROOF", raising=False)
    get_settings.cache_clear()
    req = request(443)
    assert "ACC-009" not in {r.check for r in await check_access(req, offline=True, settings=get_settings())}
    monkeypatch.setenv("PARTNER_REVIEW_ACCESS_DOMAIN_PROOF", "true")
    get_settings.cache_clear()
    results = {r.check: r for r in await check_access(req, offline=True, settings=get_settings())}
    assert results["ACC-009"].not_run == "offline" and results["ACC-010"].outcome == "pass"
    get_settings.cache_clear()
