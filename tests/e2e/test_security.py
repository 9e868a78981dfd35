"""The security stage against real HTTPS servers on loopback (partners.security): the clean sample
partner passes it whole; each weakness alone, on the website or on the destination, is flagged by
its own check and by no other. Certificates come from a private CA made at start; the client trusts
it through PARTNER_REVIEW_CA_FILE and reaches the partner's names through PARTNER_REVIEW_RESOLVE."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys

import pytest

from partner_review.models.settings import get_settings
from partner_review.models.submission import parse_submission
from partner_review.partners.security import secure_running
from partner_review.tasks.security.checks import CHECKS
from partner_review.tasks.security.stage import check_security
from tests.conftest import EXAMPLES, ROOT

ALL = {c.id for c in CHECKS}
FLAGGED = ("fail", "warn")


def resolve(*sites) -> str:
    return ",".join(f"{name}:{site.port}:127.0.0.1" for site in sites for name in site.names)


@contextlib.contextmanager
def reviewed(monkeypatch, tmp_path, *, website=(), destination=(), behaviour="conformant"):
    """The bundled submission with its web pages on one sample server (with `website` weaknesses)
    and its destination on another (with `destination` weaknesses and `behaviour`)."""
    from partner_review.cli.demo import pointed_at

    with (
        secure_running(weaknesses=website) as site,
        secure_running(weaknesses=destination, behaviour=behaviour) as api,
    ):
        ca = tmp_path / "cas.pem"
        ca.write_bytes(site.ca_file.read_bytes() + api.ca_file.read_bytes())
        monkeypatch.setenv("PARTNER_REVIEW_CA_FILE", str(ca))
        monkeypatch.setenv("PARTNER_REVIEW_RESOLVE", resolve(site, api))
        get_settings.cache_clear()
        data = pointed_at(
            json.loads((EXAMPLES / "submission.json").read_text()), f"https://api.acme.example:{api.port}", site
        )
        try:
            yield data, site, api
        finally:
            get_settings.cache_clear()


def run_stage(data, *, offline=False):
    results = asyncio.run(check_security(parse_submission(data), offline=offline))
    assert sorted(r.check for r in results) == sorted(ALL)  # one result per check, always
    return {r.check: r for r in results}


def test_clean_partner_passes_the_whole_stage(monkeypatch, tmp_path):
    with reviewed(monkeypatch, tmp_path) as (data, site, api):
        results = run_stage(data)
    assert {c: r.outcome for c, r in results.items()} == dict.fromkeys(ALL, "pass")
    versions = results["SEC-002"].evidence["hosts"][0]["versions"]
    assert versions["TLSv1"].startswith("refused") and versions["TLSv1.1"].startswith("refused")
    assert versions["TLSv1.2"] == versions["TLSv1.3"] == "accepted"
    certificate = results["SEC-003"].evidence["hosts"][0]
    assert certificate["verified"] and "acme.example" in certificate["subject"] and certificate["not_after"]
    assert results["SEC-004"].evidence["hosts"][0]["days_left"] > 80
    assert all(p["strict_transport_security"] == "max-age=31536000" for p in results["SEC-005"].evidence["pages"])
    assert results["SEC-006"].evidence["contact"] == ["mailto:security@acme.example"]
    assert {r["status"] for r in results["SEC-007"].evidence["requests"]} == {401}
    assert "acme-api-key-for-review" not in json.dumps([r.evidence for r in results.values()])


# weakness -> (check that flags it, its outcome)
WEBSITE_WEAKNESSES = {
    "tls-1.0-only": ("SEC-002", "fail"),
    "tls-legacy": ("SEC-002", "fail"),
    "expired-cert": ("SEC-003", "fail"),
    "wrong-name-cert": ("SEC-003", "fail"),
    "expiring-cert": ("SEC-004", "warn"),
    "no-hsts": ("SEC-005", "warn"),
    "short-hsts": ("SEC-005", "warn"),
    "no-security-txt": ("SEC-006", "warn"),
    "expired-security-txt": ("SEC-006", "warn"),
    "leaky-errors": ("SEC-008", "warn"),
}
# HSTS and security.txt are asked of the website alone.
DESTINATION_WEAKNESSES = {w: found for w, found in WEBSITE_WEAKNESSES.items() if found[0] not in ("SEC-005", "SEC-006")}


@pytest.mark.parametrize("weakness", WEBSITE_WEAKNESSES)
def test_each_website_weakness_alone_is_flagged_by_its_check(monkeypatch, tmp_path, weakness):
    check, outcome = WEBSITE_WEAKNESSES[weakness]
    with reviewed(monkeypatch, tmp_path, website=[weakness]) as (data, site, api):
        results = run_stage(data)
    assert results[check].outcome == outcome, results[check].message
    assert f"acme.example:{site.port}" in results[check].message
    assert f"api.acme.example:{api.port}" not in results[check].message
    assert {c for c, r in results.items() if r.outcome in FLAGGED or r.outcome == "error"} == {check}


@pytest.mark.parametrize("weakness", DESTINATION_WEAKNESSES)
def test_each_destination_weakness_alone_is_flagged_by_its_check(monkeypatch, tmp_path, weakness):
    check, outcome = DESTINATION_WEAKNESSES[weakness]
    with reviewed(monkeypatch, tmp_path, destination=[weakness]) as (data, site, api):
        results = run_stage(data)
    assert results[check].outcome == outcome, results[check].message
    assert f"api.acme.example:{api.port}" in results[check].message
    assert {c for c, r in results.items() if r.outcome in FLAGGED or r.outcome == "error"} == {check}


def test_the_versions_accepted_are_the_evidence(monkeypatch, tmp_path):
    with reviewed(monkeypatch, tmp_path, destination=["tls-legacy"]) as (data, site, api):
        result = run_stage(data)["SEC-002"]
    (weak,) = [h for h in result.evidence["hosts"] if h["host"] == f"api.acme.example:{api.port}"]
    assert weak["versions"] == dict.fromkeys(("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"), "accepted")
    assert weak["address"] == "127.0.0.1" and "destination endpoint (Acme Analytics)" in weak["roles"]


def test_leaky_errors_are_quoted_cut_short(monkeypatch, tmp_path):
    with reviewed(monkeypatch, tmp_path, destination=["leaky-errors"]) as (data, site, api):
        result = run_stage(data)["SEC-008"]
    what = {leak["what"] for leak in result.evidence["leaks"]}
    assert {"a Python traceback", "a x-powered-by header", "a version in the Server header"} <= what
    assert all(len(leak["quote"]) <= 123 for leak in result.evidence["leaks"])


@pytest.mark.parametrize("behaviour", ["no-auth", "lenient"])
def test_a_destination_that_takes_events_without_credentials_is_a_blocker(monkeypatch, tmp_path, behaviour):
    with reviewed(monkeypatch, tmp_path, behaviour=behaviour) as (data, site, api):
        results = run_stage(data)
    auth = results["SEC-007"]
    assert auth.outcome == "fail" and auth.severity == "blocker"
    assert "accepted no credential" in auth.message and "accepted a wrong credential" in auth.message
    assert {c for c, r in results.items() if r.outcome in FLAGGED} == {"SEC-007"}


def test_offline_runs_the_pure_checks_and_skips_the_others_with_a_reason(example):
    results = run_stage(example, offline=True)
    assert results["SEC-001"].outcome == results["SEC-009"].outcome == "pass"
    for check in ALL - {"SEC-001", "SEC-009"}:
        assert results[check].outcome == "skip" and results[check].not_run == "offline"
        assert "offline" in results[check].message


def cli(*args, env):
    return subprocess.run(
        [sys.executable, "-m", "partner_review.cli.main", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )


@pytest.mark.parametrize("behaviour", ["conformant", "no-auth"])
def test_check_command_runs_the_security_stage(tmp_path, behaviour):
    from partner_review.cli.demo import pointed_at

    with secure_running(behaviour=behaviour) as site:
        path = tmp_path / "submission.json"
        data = pointed_at(
            json.loads((EXAMPLES / "submission.json").read_text()), f"https://api.acme.example:{site.port}", site
        )
        path.write_text(json.dumps(data))
        env = {
            "PARTNER_REVIEW_CA_FILE": str(site.ca_file),
            "PARTNER_REVIEW_RESOLVE": resolve(site),
            "PARTNER_REVIEW_ALLOWED_NETWORKS": "127.0.0.0/8",
        }
        done = cli("check", str(path), "--stage", "security", "--format", "json", env=env)
        one = cli("check", str(path), "--check", "sec-007", "--format", "json", env=env)
    assert "Traceback" not in done.stderr
    report = json.loads(done.stdout)
    assert {r["stage"] for r in report["results"]} == {"security"}
    outcomes = {r["check"]: r["outcome"] for r in report["results"]}
    if behaviour == "conformant":
        assert done.returncode == 0 and report["verdict"] == "pass", done.stderr
        assert sum(o == "pass" for o in outcomes.values()) >= 4 and set(outcomes.values()) == {"pass"}
    else:
        assert done.returncode == 1 and report["verdict"] == "fail"
        assert outcomes["SEC-007"] == "fail"
    assert [r["check"] for r in json.loads(one.stdout)["results"]] == ["SEC-007"]
