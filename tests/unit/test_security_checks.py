"""The security stage's pure parts: security.txt, leak spotting, credential setting names, https only."""

from __future__ import annotations

import copy
import datetime

import pytest

from partner_review.models.submission import parse_submission
from partner_review.tasks.security import leaks, securitytxt
from partner_review.tasks.security.hosts import hosts, targets
from partner_review.tasks.security.stage import check_https_only, check_secret_settings, names_credential
from partner_review.tasks.security.web import max_age

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
