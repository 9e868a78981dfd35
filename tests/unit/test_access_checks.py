"""The ACC checks: on the contract example, on hostile variants, and against the sample website
served over HTTPS on loopback (its name `acme.example` resolved there by a static table)."""

import json
import os

import pytest

from partner_review.models.access import parse_access_request
from partner_review.tasks.access import checks, domains


@pytest.fixture
def data(shared_dir) -> dict:
    return json.loads((shared_dir / "contract" / "access-request.example.json").read_text())


def by_id(results):
    return {r.check: r for r in results}


async def offline(data, approved=None):
    return by_id(await checks.check_access(parse_access_request(data), offline=True, approved=approved))


async def test_the_example_passes_offline_with_network_and_store_checks_skipped(data):
    results = await offline(data)
    assert [r.check for r in results.values()] == [f"ACC-00{i}" for i in range(1, 9)]
    assert {k for k, r in results.items() if r.outcome == "skip"} == {"ACC-002", "ACC-003", "ACC-008"}
    assert all(r.outcome == "pass" for k, r in results.items() if k not in ("ACC-002", "ACC-003", "ACC-008"))
    assert "offline" in results["ACC-002"].message.lower()


@pytest.mark.parametrize(
    "website,email,fails",
    [
        ("http://acme.example", "dana@acme.example", {"ACC-001"}),
        ("https://www.acme.co.uk/about", "dana@eu.acme.co.uk", set()),
        ("https://acme.co.uk", "dana@other.co.uk", {"ACC-004"}),  # same public suffix, another company
        ("https://acme.github.io", "dana@github.io", {"ACC-004"}),  # a private suffix is not one company
        ("https://127.0.0.1:8443/", "dana@acme.example", {"ACC-004"}),
        ("https://acme.example", "dana@gmail.com", {"ACC-004", "ACC-005"}),
        ("https://mailinator.com", "dana@mailinator.com", {"ACC-005"}),
        ("https://bücher.example", "dana@BÜCHER.example", set()),
        ("https://acme.example", "dana at acme.example", {"ACC-004", "ACC-005"}),
        ("javascript:alert(1)", "dana@acme.example", {"ACC-001", "ACC-004"}),
    ],
)
async def test_website_and_email_rules(data, website, email, fails):
    data["company"]["website"], data["contact"]["email"] = website, email
    results = await offline(data)
    assert {k for k, r in results.items() if r.outcome == "fail"} == fails, {k: r.message for k, r in results.items()}


@pytest.mark.parametrize(
    "answers,why",
    [
        ({"use_case": None}, {"survey.use_case": "missing"}),
        ({"use_case": "   \n\t "}, {"survey.use_case": "empty"}),
        ({"use_case": "Acme Analytics"}, {"survey.use_case": "only the company name"}),
        ({"use_case": "acme analytics, inc."}, {"survey.use_case": "only the company name"}),
        ({"heard_from": "Twitter"}, {"survey.heard_from": "7 characters, fewer than 20"}),
        (
            {
                "where_data_goes": "Customers send product events to ACME through our JavaScript and mobile SDKs or our HTTP tracking API!"
            },
            {"survey.where_data_goes": "the same text as survey.how_customers_get_data_in"},
        ),
    ],
)
async def test_survey_answers_must_be_present_and_specific(data, answers, why):
    for key, value in answers.items():
        if value is None:
            data["survey"].pop(key)
        else:
            data["survey"][key] = value
    result = (await offline(data))["ACC-006"]
    assert result.outcome == "fail"
    for key, reason in why.items():
        assert result.evidence["problems"][key] == reason
    if "how_customers_get_data_in" not in answers and "same text" in str(why):
        assert "survey.how_customers_get_data_in" in result.evidence["problems"]  # both copies are named


async def test_terms_not_agreed_fail(data):
    data["agreed_to_partner_terms"] = False
    assert (await offline(data))["ACC-007"].outcome == "fail"


async def test_an_approved_partner_of_the_same_domain_fails_acc_008(data):
    other = checks.Approved(id="r-1", company="Acme", domain="acme.example")
    assert (await offline(data, approved=[other]))["ACC-008"].outcome == "fail"
    elsewhere = checks.Approved(id="r-2", company="Beta", domain="beta.example")
    assert (await offline(data, approved=[elsewhere]))["ACC-008"].outcome == "pass"


def test_domain_helpers_use_the_public_suffix_list_offline():
    assert domains.registrable_domain("a.b.acme.co.uk") == "acme.co.uk"
    assert domains.registrable_domain("co.uk") is None and domains.registrable_domain("10.0.0.1") is None
    assert domains.email_domain("x@a..b") is None and domains.email_domain(".x@acme.example") is None
    assert domains.mail_provider_kind("yahoo.com") == "free"


# Against the sample website -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def named_site():
    from partner_review.partners import site_running

    with site_running(server_name="acme.example") as site:
        yield site


@pytest.fixture
def fetcher(named_site, env, monkeypatch):
    from partner_review.models.settings import get_settings
    from partner_review.tasks.net.client import StaticResolver, guarded_transport
    from partner_review.tasks.net.fetcher import Fetcher

    monkeypatch.setenv("PARTNER_REVIEW_CA_FILE", str(named_site.ca_file))
    get_settings.cache_clear()
    transport = guarded_transport(engine="aiohttp", resolver=StaticResolver({"acme.example": ["127.0.0.1"]}))
    return Fetcher.from_settings(get_settings(), transport=transport, retries=0)


async def test_every_check_passes_against_the_live_site(data, named_site, fetcher):
    data["company"]["website"] = named_site.base_url
    async with fetcher:
        results = by_id(await checks.check_access(parse_access_request(data), fetcher=fetcher, approved=[]))
    assert {k: r.outcome for k, r in results.items()} == {k: "pass" for k in results}, results
    assert (
        results["ACC-002"].evidence["status"] == 200
        and results["ACC-003"].message == "The website names 'Acme Analytics Inc.'"
    )


async def test_a_site_that_does_not_name_the_company_fails_acc_003(data, named_site, fetcher):
    data["company"]["website"] = named_site.base_url
    data["company"]["name"] = "Globex Corporation"
    async with fetcher:
        results = by_id(await checks.check_access(parse_access_request(data), fetcher=fetcher))
    assert results["ACC-002"].outcome == "pass" and results["ACC-003"].outcome == "fail"
    assert results["ACC-003"].evidence["looked_for"] == ["Globex Corporation", "Globex"]


async def test_a_missing_page_fails_acc_002_and_skips_acc_003(data, named_site, fetcher):
    data["company"]["website"] = named_site.url("/no-such-page")
    async with fetcher:
        results = by_id(await checks.check_access(parse_access_request(data), fetcher=fetcher))
    assert results["ACC-002"].outcome == "fail" and "404" in results["ACC-002"].message
    assert results["ACC-003"].outcome == "skip"


async def test_the_guard_refuses_a_private_address_without_the_allowance(data, monkeypatch, env):
    from partner_review.models.settings import get_settings

    monkeypatch.setenv("PARTNER_REVIEW_ALLOWED_NETWORKS", "")
    get_settings.cache_clear()
    data["company"]["website"] = "https://10.1.2.3/"
    results = by_id(await checks.check_access(parse_access_request(data)))
    assert results["ACC-002"].outcome == "fail" and results["ACC-002"].evidence["error_kind"] == "BlockedAddress"
    assert os.environ.get("PARTNER_REVIEW_ALLOWED_NETWORKS") == ""


# -- check objects on hand-built subjects ----------------------------------------------------------


def subject_of(data, **facts):
    from partner_review.tasks.access.subject import Access

    return Access(parse_access_request(data), **facts)


def test_website_objects_judge_the_page_they_are_given(data):
    from partner_review.tasks.net.fetcher import Fetched

    url = data["company"]["website"]
    page = Fetched(url=url, method="GET", status=200, final_url=url, content_type="text/html", text="<h1>Other Co</h1>")
    subject = subject_of(data, website=page)
    assert checks.WEBSITE_LIVE.run(subject).message == "The website answered 200"
    named = checks.WEBSITE_NAMES_COMPANY.run(subject)
    assert named.outcome == "fail" and named.message.startswith(f"The website {url} does not name ")
    gone = subject_of(data, website=Fetched(url=url, method="GET", status=410, final_url=url, text=""))
    assert checks.WEBSITE_LIVE.run(gone).message == f"The website {url} answered 410"
    assert checks.WEBSITE_NAMES_COMPANY.run(gone).message == "Not verified: The website could not be read (see ACC-002)"
    offline = checks.WEBSITE_LIVE.run(subject_of(data))
    assert offline.not_run == "offline" and offline.message == "Offline: the website was not fetched (--offline)"


def test_not_already_approved_compares_the_approved_partners_of_its_subject(data):
    domain = domains.website_domain(data["company"]["website"])
    taken = (checks.Approved(id="r-9", company="Acme", domain=domain),)
    found = checks.NOT_ALREADY_APPROVED.run(subject_of(data, approved=taken))
    assert found.outcome == "fail" and found.evidence == {"domain": domain, "approved": ["r-9"]}
    assert checks.NOT_ALREADY_APPROVED.run(subject_of(data, approved=())).outcome == "pass"
    assert checks.NOT_ALREADY_APPROVED.run(subject_of(data)).not_run == "offline"


def test_survey_and_marks_read_their_settings_from_the_context(data):
    from partner_review.models.settings import Settings
    from partner_review.tasks.access import ownership
    from partner_review.tasks.access.subject import Proof
    from partner_review.tasks.context import Context

    strict = Context.of(Settings(access_answer_min_chars=1000))
    survey = checks.SURVEY_SPECIFIC.run(subject_of(data), strict)
    assert survey.outcome == "fail" and survey.evidence["min_chars"] == 1000
    data["company"]["name"] = "Segment Tools Inc."
    marks = ownership.PLATFORM_MARKS.run(subject_of(data), Context.of(Settings(platform_name="Segment")))
    assert marks.outcome == "warn" and "uses the platform's name 'Segment'" in marks.message
    proof = Proof("acme.example", "https://acme.example/.well-known/x", "t0k", by_https=False, by_dns=True)
    by_dns = ownership.OWNERSHIP.run(subject_of(data, proof=proof))
    assert by_dns.outcome == "pass" and by_dns.evidence == {"method": "dns", "dns": {}}
    pending = ownership.OWNERSHIP.run(subject_of(data, proof=Proof("acme.example", "https://u", "t0k", by_https=False)))
    assert pending.not_run == "not-verified" and pending.evidence["txt_record"] == "partner-review-verification=t0k"
