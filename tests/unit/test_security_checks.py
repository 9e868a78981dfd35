"""The security stage's pure parts: security.txt, leak spotting, credential setting names, https only."""

from __future__ import annotations

import copy
import datetime

import pytest

from partner_review.models.submission import parse_submission
from partner_review.tasks.security import checks, leaks, securitytxt
from partner_review.tasks.security.checks import Probed
from partner_review.tasks.security.hosts import Host, Target, hosts, targets
from partner_review.tasks.security.stage import check_https_only, check_secret_settings, names_credential
from partner_review.tasks.security.tls import HostScan
from partner_review.tasks.security.web import ErrorAnswer, PageAnswer, TextAnswer, max_age

NOW = datetime.datetime(2026, 12, 6, tzinfo=datetime.UTC)


def test_security_txt_with_contact_and_future_expiry_passes():
    parsed = securitytxt.parse("# hi\nContact: mailto:security@acme.example\nExpires: 2027-06-01T00:00:00Z\n")
    assert parsed.judge(NOW) == [] and parsed.contacts == ["mailto:security@acme.example"]


def test_a_signed_security_txt_is_read():
    text = (
        "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nContact: https://acme.example/security\n"
        "Expires: 2027-01-01T00:00:00+00:00\n-----BEGIN PGP SIGNATURE-----\nabc\n-----END PGP SIGNATURE-----\n"
    )
    assert securitytxt.parse(text).judge(NOW) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Expires: 2027-01-01T00:00:00Z\n", "no Contact field"),
        ("Contact: mailto:a@b.example\n", "no Expires field"),
        ("Contact: mailto:a@b.example\nExpires: 2020-01-01T00:00:00Z\n", "it expired on 2020-01-01"),
        ("Contact: mailto:a@b.example\nExpires: next year\n", "not an RFC 3339 date"),
        ("Contact: mailto:a@b.example\nExpires: 2027-01-01T00:00:00\n", "not an RFC 3339 date"),  # no zone
        ("Contact: a@b.example\nExpires: 2027-01-01T00:00:00Z\n", "not a mailto:, https: or tel: URI"),
        ("<html>not found</html>\n", "line 1 is not a `Field: value` line"),
    ],
)
def test_security_txt_problems_are_named(text, problem):
    assert any(problem in p for p in securitytxt.parse(text).judge(NOW))


@pytest.mark.parametrize(
    ("body", "what"),
    [
        ('Traceback (most recent call last):\n  File "/app/main.py", line 3, in <module>\n', "a Python traceback"),
        ("java.lang.NullPointerException: x\n\tat com.acme.Ingest.run(Ingest.java:42)\n", "a Java stack trace"),
        ("TypeError: x\n    at Object.<anonymous> (/srv/app/index.js:10:5)\n", "a Node.js stack trace"),
        ("<b>Fatal error</b>: Uncaught Error in /var/www/html/index.php on line <b>3</b>", "a PHP error"),
        ("goroutine 1 [running]:\nmain.main()\n", "a Go panic"),
        ("<title>Werkzeug Debugger</title>", "a framework debug page"),
        ("<hr><center>nginx/1.18.0 (Ubuntu)</center>", "a server version banner"),
    ],
)
def test_leaks_in_bodies_are_found_and_quoted_short(body, what):
    found = leaks.leaks(body * 20, {})
    assert what in {f["what"] for f in found}
    assert all(len(f["quote"]) <= leaks.QUOTE + 3 for f in found)


def test_banner_headers_are_leaks_a_bare_server_name_is_not():
    found = leaks.leaks("", {"server": "Apache/2.4.41 (Ubuntu)", "x-powered-by": "PHP/7.4.3"})
    assert {f["where"] for f in found} == {"server", "x-powered-by"}
    assert leaks.leaks('{"error": "the body is not JSON"}', {"server": "uvicorn"}) == []


@pytest.mark.parametrize(
    ("value", "age"),
    [
        ("max-age=31536000; includeSubDomains", 31536000),
        ('max-age="600"', 600),
        ("includeSubDomains", None),
        ("", None),
    ],
)
def test_hsts_max_age(value, age):
    assert max_age(value) == age


@pytest.mark.parametrize(
    "name", ["apiKey", "API Key", "access_token", "Client Secret", "password", "writeKey", "SIGNING-SECRET"]
)
def test_credential_names(name):
    assert names_credential(name)


@pytest.mark.parametrize("name", ["Region", "workspace", "Event Name", "Monkey Mode", "keyword_list", "tokenizer"])
def test_other_names(name):
    assert not names_credential(name)


def test_a_credential_setting_not_declared_secret_is_a_blocker(example):
    data = copy.deepcopy(example)
    settings = data["components"][0]["settings"]
    settings[0]["secret"] = False
    settings.append({"key": "region", "label": "Region"})
    result = check_secret_settings(parse_submission(data))
    assert result.outcome == "fail" and result.severity == "blocker" and "'apiKey' (API Key)" in result.message
    assert check_secret_settings(parse_submission(example)).outcome == "pass"


def test_an_http_endpoint_is_its_own_finding(example):
    data = copy.deepcopy(example)
    data["components"][0]["endpoint"] = "http://api.acme.example/segment/v1/events"
    result = check_https_only(targets(parse_submission(data)))
    assert (
        result.outcome == "warn" and "destination endpoint (Acme Analytics) http://api.acme.example" in result.message
    )
    assert check_https_only(targets(parse_submission(example))).outcome == "pass"


def test_hosts_are_distinct_with_their_roles(example):
    found = hosts(targets(parse_submission(example)))
    assert [(h.label, h.roles) for h in found] == [
        ("acme.example", ["website", "docs", "OAuth button page", "OAuth redirect URI"]),
        ("api.acme.example", ["destination endpoint (Acme Analytics)", "batch endpoint (Acme Analytics)"]),
    ]


# The checks as objects, on hand-built probe answers (nothing fetched) --------------------------

WEBSITE = Target("website", "https://acme.example/")


def scan_of(name: str, *accepted: str, verified: bool = True) -> HostScan:
    from partner_review.tasks.net.tls import Handshake

    probes = {
        v: Handshake(name, 443, version=v if v in accepted else None, error=None if v in accepted else "alert")
        for v in ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
    }
    good = (
        Handshake(name, 443, version="TLSv1.3") if verified else Handshake(name, 443, error="x", verify_error="expired")
    )
    return HostScan(Host(name, 443, ["website"]), probes, good)


def test_tls_version_fails_a_host_accepting_tls_1_0_and_passes_a_modern_one():
    old = checks.TLS_VERSION.run(Probed(scans=(scan_of("old.acme.example", "TLSv1", "TLSv1.2"),)))
    assert old.outcome == "fail" and old.message == "old.acme.example accepts TLSv1"
    good = checks.TLS_VERSION.run(Probed(scans=(scan_of("acme.example", "TLSv1.2", "TLSv1.3"),)))
    assert good.outcome == "pass" and good.message == "1 host(s) accept TLS 1.2+ only"
    assert checks.TLS_VERSION.run(Probed()).not_run == "not-applicable"


def test_certificate_verification_error_fails_sec_003():
    result = checks.CERTIFICATE_VALID.run(Probed(scans=(scan_of("acme.example", "TLSv1.3", verified=False),)))
    assert result.outcome == "fail" and result.message == "acme.example: expired"
    assert result.evidence["hosts"][0]["verified"] is False


def test_hsts_under_a_year_and_an_unreachable_page():
    short = PageAnswer(WEBSITE, status=200, hsts="max-age=600")
    result = checks.HSTS.run(Probed(found=(WEBSITE,), pages=(short,)))
    assert result.outcome == "warn"
    assert result.message == "https://acme.example/ sends max-age=600, under a year (31536000)"
    gone = PageAnswer(WEBSITE, unreachable="no verified TLS 1.2+ connection to acme.example")
    skipped = checks.HSTS.run(Probed(found=(WEBSITE,), pages=(gone,)))
    assert skipped.not_run == "not-applicable" and skipped.evidence["pages"][0]["skipped"].startswith("no verified")


def test_security_txt_answer_is_judged_by_status_type_and_fields():
    url = "https://acme.example/.well-known/security.txt"
    missing = checks.SECURITY_TXT.run(Probed(found=(WEBSITE,), security_txt=TextAnswer(url, status=404)))
    assert missing.outcome == "warn" and missing.message == f"{url} answered 404: no security.txt"
    body = b"Contact: mailto:security@acme.example\nExpires: 2027-06-01T00:00:00Z\n"
    good = TextAnswer(url, status=200, content_type="text/plain; charset=utf-8", body=body)
    result = checks.SECURITY_TXT.run(Probed(found=(WEBSITE,), now=NOW, security_txt=good))
    assert result.outcome == "pass" and result.message == f"{url} names 1 contact(s), expires 2027-06-01T00:00:00Z"


def test_error_bodies_with_a_stack_trace_warn_and_redact_the_credential(example):
    secret = parse_submission(example).destinations[0].auth.secret.get_secret_value()
    trace = f'Traceback (most recent call last):\n  File "/srv/app/api.py", line 3\nkey={secret}'
    answer = ErrorAnswer("https://api.acme.example/v1/events", status=500, headers={}, body=trace)
    result = checks.ERROR_BODIES.run(
        Probed(errors=(answer,), destinations=tuple(parse_submission(example).destinations))
    )
    assert result.outcome == "warn" and secret not in str(result.evidence)
