"""Rules that hold the page against the integration itself (blockers): the destination's required
settings, its declared `supported_calls`, and the call types its endpoint really accepted in the
end-to-end stage.

Documented calls are the headings named after a call type (`### Track`, `## Identify calls`),
wherever they sit; only direct destination pages are compared (an actions page lists its
actions in Segment's generated table).
"""

from __future__ import annotations

from partner_review.models.checks import Check, Result, declare
from partner_review.tasks.docs.context import KIND_NAMES, Page, PageCheck, RuleOutput, call_list
from partner_review.tasks.docs.rules import GETTING_STARTED, documented_calls


def _words(text: str) -> str:
    return " " + " ".join(text.lower().replace("*", " ").replace("`", " ").replace('"', " ").split()) + " "


class SettingsExplained(PageCheck):
    """DOC-011: Getting started names every required setting of the destination."""

    def findings(self, page: Page) -> list[RuleOutput]:
        if page.submission is None or not page.submission.destinations:
            return [self.not_applicable("No destination component to compare the page with.")]
        required = [s for d in page.submission.destinations for s in d.settings if s.required]
        if not required:
            return []
        document = page.document
        section = document.find_section(*GETTING_STARTED)
        text = _words(document.section_text(section)) if section else ""
        line = section.heading.line if section else min(document.first_heading_line(), len(document.lines)) or 1
        where = "Getting started does not name" if section else "There is no Getting started section to explain"
        return [
            page.finding(
                self,
                f'{where} the required setting "{s.label}" (key `{s.key}`).',
                line,
                excerpt=document.line_text(line),
            )
            for s in required
            if _words(s.label) not in text and _words(s.key) not in text
        ]


SETTINGS_EXPLAINED = declare(
    SettingsExplained(
        "DOC-011",
        "Every required setting is explained in Getting started",
        stage="docs",
        severity="blocker",
        remedy="In Getting started, name each required setting exactly as the destination's settings label it "
        '(e.g. "API Key"), and say where the customer finds it and where to enter it.',
    )
)


def _comparable(page: Page, check: Check) -> Result | None:
    if page.submission is None or not page.submission.destinations:
        return check.not_applicable("No destination component to compare the page with.")
    if page.kind != "destination":
        article = "An" if page.kind == "actions-destination" else "A"
        return check.not_applicable(f"{article} {KIND_NAMES[page.kind]} page does not document call types.")
    return None


class CallsMatch(PageCheck):
    """DOC-012: the documented call types are the destination's supported_calls."""

    def findings(self, page: Page) -> list[RuleOutput]:
        skip = _comparable(page, self)
        if skip:
            return [skip]
        assert page.submission is not None  # _comparable skipped otherwise
        document = page.document
        supported = {call for d in page.submission.destinations for call in d.supported_calls}
        documented = documented_calls(document)
        methods = document.find_section("supported methods")
        anchor = methods.heading.line if methods else min(document.first_heading_line(), len(document.lines)) or 1
        results: list[RuleOutput] = []
        missing = supported - set(documented)
        if missing:
            results.append(
                page.finding(
                    self,
                    f"The destination supports {call_list(missing)}, but the page has no subsection for "
                    f"{'it' if len(missing) == 1 else 'them'}.",
                    anchor,
                )
            )
        for call, heading in documented.items():
            if call not in supported:
                results.append(
                    page.finding(
                        self,
                        f"The page documents {call.capitalize()}, but the destination's supported_calls "
                        f"({call_list(supported)}) do not include it.",
                        heading.line,
                        excerpt=f"{'#' * heading.level} {heading.text}",
                    )
                )
        return results


CALLS_MATCH = declare(
    CallsMatch(
        "DOC-012",
        "Documented call types equal the destination's supported calls",
        stage="docs",
        severity="blocker",
        remedy="Document exactly the calls listed in the destination's `supported_calls`: one `###` subsection "
        "each; remove subsections for calls the destination does not support (or add them to supported_calls).",
    )
)


class CallsAccepted(PageCheck):
    """DOC-013: every documented call type was accepted by the endpoint in the e2e stage."""

    def findings(self, page: Page) -> list[RuleOutput]:
        skip = _comparable(page, self)
        if skip:
            return [skip]
        if page.accepted_calls is None:  # the e2e stage was skipped: offline, the one way it skips a destination
            return [
                self.skipped(
                    "The end-to-end stage did not run (offline), so there is nothing to compare.", because="offline"
                )
            ]
        documented = documented_calls(page.document)
        accepted = {c.lower() for c in page.accepted_calls}
        if not accepted and documented:
            # Nothing accepted at all: the endpoint may never have been reached (a host that does not
            # resolve, a refused address), so no claim is made about what it answered.
            return [
                self.errored(
                    "No call type was accepted in the end-to-end test (the endpoint was not reached or refused "
                    "every call; the e2e results say which), so the documented calls could not be compared "
                    "with what the endpoint accepts.",
                    documented=sorted(documented),
                )
            ]
        return [
            page.finding(
                self,
                f"The page says {call.capitalize()} is supported, but the endpoint did not accept "
                f"{'an' if call[0] in 'aeiou' else 'a'} {call.capitalize()} call in the end-to-end test, "
                f"while it accepted {call_list(accepted)} (the e2e results show what it answered).",
                heading.line,
                excerpt=f"{'#' * heading.level} {heading.text}",
            )
            for call, heading in documented.items()
            if call not in accepted
        ]


CALLS_ACCEPTED = declare(
    CallsAccepted(
        "DOC-013",
        "Documented call types were accepted by the endpoint",
        stage="docs",
        severity="blocker",
        remedy="Either make the endpoint accept every documented call type (2xx), or remove the call's "
        "subsection from the docs and from supported_calls.",
    )
)


CHECKS: tuple[PageCheck, ...] = (SETTINGS_EXPLAINED, CALLS_MATCH, CALLS_ACCEPTED)
