"""Catalog checks of the logo and mark (CAT-007 to CAT-012): safe SVG, static content, shape, text.

Each check is an object (`Check[Catalog]` with its `run`) judging the `Catalog` subject
(tasks/catalog/subject.py): every form of the logo and mark given, analysed once by the stage. A
check passes only when every form given was analysed and passed: a remote file that was not fetched
(offline, or no fetch result handed in) leaves the check skipped with the reason, never passed; one
that could not be fetched, or was not served as SVG, fails CAT-007/CAT-008.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from partner_review.models.checks import Check, NotRun, Result, declare
from partner_review.tasks.catalog import svg
from partner_review.tasks.catalog.subject import NOT_FETCHED, Asset, Catalog, Unverified, assets
from partner_review.tasks.catalog.urls import excerpt
from partner_review.tasks.context import Context

__all__ = ["NOT_FETCHED", "Asset", "Unverified", "assets"]


def _because(pending: list[Asset]) -> NotRun:
    """Skipped by request only when every unanalysed form was left unfetched offline."""
    offline = all(isinstance(a.found, Unverified) and a.found.because == "offline" for a in pending)
    return "offline" if offline else "not-verified"


def _dimensions(info: svg.SvgInfo) -> str:
    if info.view_box:
        return f"{info.view_box[2]:g}×{info.view_box[3]:g} (viewBox)"
    return f"{info.width:g}×{info.height:g} (width/height)"


def _refusal(asset: Asset, error: svg.SvgError) -> str:
    if error.kind == "unreachable":
        return error.reason
    return f"{asset.field} is refused: {error.reason}"


@dataclass(frozen=True)
class SafeSvg(Check[Catalog]):
    """CAT-007/CAT-008: every form of the logo (or the mark, `kind`) given is a safe, well-formed SVG."""

    kind: str = "logo"

    def run(self, subject: Catalog, ctx: object = None) -> Result:
        kind = self.kind
        found = list(subject.logo if kind == "logo" else subject.mark)
        url_problem = subject.logo_url_problem if kind == "logo" else subject.mark_url_problem
        problems = [_refusal(a, a.found) for a in found if isinstance(a.found, svg.SvgError)]
        if url_problem:
            problems.append(url_problem)
        fields = [a.field for a in found]
        if problems:
            first = next((a for a in found if isinstance(a.found, svg.SvgError)), None)
            evidence: dict[str, object] = {} if first is not None else {"field": f"app.{kind}_url", "fields": fields}
            if first is not None:
                evidence |= {"field": first.field, "reason": first.found.kind}  # type: ignore[union-attr]
                if first.url:
                    evidence["url"] = excerpt(first.url)
            return self.failed("; ".join(problems), **evidence)
        pending = [a for a in found if isinstance(a.found, Unverified)]
        if pending:
            reasons = "; ".join(a.found.reason for a in pending if isinstance(a.found, Unverified))
            return self.skipped(reasons, because=_because(pending), fields=fields)
        if not found:
            return self.not_applicable(f"app.{kind}_svg or app.{kind}_url is missing (reported by CAT-001)")
        described = []
        for asset in found:
            info = asset.found
            assert isinstance(info, svg.SvgInfo)
            size = _dimensions(info) if info.size_source else "no declared size"
            described.append(f"{asset.field} is an SVG, {size}{asset.note}")
        return self.passed("; ".join(described), fields=fields)


LOGO_SVG = declare(
    SafeSvg(
        "CAT-007",
        "Logo is a safe SVG",
        stage="catalog",
        requirement=("catalog",),
        severity="blocker",
        remedy="Provide the logo as a plain SVG file (no DOCTYPE or entities), inline or at an https URL ending in "
        ".svg that answers 200 with Content-Type image/svg+xml.",
        kind="logo",
    )
)
MARK_SVG = declare(
    SafeSvg(
        "CAT-008",
        "Mark is a safe SVG",
        stage="catalog",
        requirement=("catalog",),
        severity="blocker",
        remedy="Provide the mark as a plain SVG file (no DOCTYPE or entities), inline or at an https URL ending in "
        ".svg that answers 200 with Content-Type image/svg+xml.",
        kind="mark",
    )
)


class NoActiveContent(Check[Catalog]):
    """CAT-009: nothing outside the static subset, in every form of the logo and mark."""

    def run(self, subject: Catalog, ctx: object = None) -> Result:
        everything = list(subject.logo) + list(subject.mark)
        inspected = {a.field: a.found for a in everything if isinstance(a.found, svg.SvgInfo)}
        found = {field: list(info.dangers) for field, info in inspected.items() if info.dangers}
        if found:
            message = "; ".join(f"{field} has {', '.join(dangers)}" for field, dangers in found.items())
            return self.failed(message, dangers=found)
        not_inspected = [a for a in everything if not isinstance(a.found, svg.SvgInfo)]
        if not_inspected:
            reasons = [
                a.found.reason
                if isinstance(a.found, Unverified)
                else f"{a.field} could not be analysed (CAT-007/CAT-008)"
                for a in not_inspected
            ]
            clean = f"; no active content in {' and '.join(inspected)}" if inspected else ""
            return self.skipped("; ".join(reasons) + clean, because=_because(not_inspected), inspected=list(inspected))
        if not inspected:
            return self.not_applicable("No logo or mark given (reported by CAT-001)")
        return self.passed(f"No active content in {' and '.join(inspected)}", inspected=list(inspected))


NO_ACTIVE_CONTENT = declare(
    NoActiveContent(
        "CAT-009",
        "Logo and mark are static SVG: no scripts, handlers, animation or outside references",
        stage="catalog",
        requirement=("catalog",),
        severity="blocker",
        remedy="Export the logo and mark again as plain static SVG (shapes, paths, text, gradients, clip paths, "
        "masks; references only to #ids of the same file): no scripts, on* attributes, animation, <a> links, "
        "external or data: references (embedded PNG/JPEG excepted), @import or url() in CSS, processing "
        "instructions.",
    )
)


def _shape(check: Check, found: tuple[Asset, ...], missing: str, judge) -> Result:
    """A shape check over every analysed form: fail if any fails, skip if any is unverified."""
    if not found:
        return check.not_applicable(missing)
    results = []
    for asset in found:
        if isinstance(asset.found, svg.SvgInfo):
            results.append(judge(asset.field, asset.found))
    failures = [r for r in results if r.outcome in ("fail", "warn")]
    if failures:
        return failures[0] if len(failures) == 1 else check.failed("; ".join(r.message for r in failures))
    pending = [a for a in found if not isinstance(a.found, svg.SvgInfo)]
    if pending:
        reasons = [
            a.found.reason
            if isinstance(a.found, Unverified)
            else f"{a.field} could not be inspected (see CAT-007/CAT-008)"
            for a in pending
        ]
        return check.skipped("; ".join(reasons), because=_because(pending))
    return results[0] if len(results) == 1 else check.passed("; ".join(r.message for r in results))


class MarkSquare(Check[Catalog]):
    def run(self, subject: Catalog, ctx: Context) -> Result:
        tolerance = ctx.settings.mark_square_tolerance

        def judge(field: str, info: svg.SvgInfo) -> Result:
            if info.aspect is None:
                return self.failed(
                    f"{field} declares neither a viewBox nor a width and height, so it cannot be shown as a square",
                    field=field,
                )
            evidence = {"field": field, "size": _dimensions(info), "aspect": round(info.aspect, 4)}
            if abs(info.aspect - 1) > tolerance:
                return self.failed(f"{field} is {_dimensions(info)}, not square", **evidence)
            return self.passed(f"{field} is square, {_dimensions(info)}", **evidence)

        return _shape(self, subject.mark, "app.mark_svg or app.mark_url is missing (reported by CAT-001)", judge)


MARK_SQUARE = declare(
    MarkSquare(
        "CAT-010",
        "Mark is square",
        stage="catalog",
        requirement=("catalog",),
        severity="blocker",
        remedy='Give the mark a square viewBox (e.g. `viewBox="0 0 64 64"`) around the symbol.',
    )
)


class LogoHorizontal(Check[Catalog]):
    def run(self, subject: Catalog, ctx: object = None) -> Result:
        def judge(field: str, info: svg.SvgInfo) -> Result:
            if info.aspect is None:
                return self.failed(
                    f"{field} declares neither a viewBox nor a width and height, so its shape is unknown",
                    field=field,
                )
            evidence = {"field": field, "size": _dimensions(info), "aspect": round(info.aspect, 4)}
            if info.aspect <= 1:
                return self.failed(f"{field} is {_dimensions(info)}, not wider than tall", **evidence)
            return self.passed(f"{field} is a horizontal lockup, {_dimensions(info)}", **evidence)

        return _shape(self, subject.logo, "app.logo_svg or app.logo_url is missing (reported by CAT-001)", judge)


LOGO_HORIZONTAL = declare(
    LogoHorizontal(
        "CAT-011",
        "Logo is a horizontal lockup",
        stage="catalog",
        requirement=("catalog",),
        severity="warning",
        remedy="Prefer a horizontal logo lockup, wider than tall, with the symbol beside the company name.",
    )
)


class MarkWithoutName(Check[Catalog]):
    def run(self, subject: Catalog, ctx: object = None) -> Result:
        name = subject.submission.app.name

        def judge(field: str, info: svg.SvgInfo) -> Result:
            if not info.text:
                return self.passed(f"{field} has no text")
            text = info.text.casefold()
            words = [w for w in re.findall(r"\w+", name.casefold()) if len(w) >= 3]
            if name.casefold() in text or any(re.search(rf"\b{re.escape(w)}\b", text) for w in words[:1]):
                return self.failed(
                    f"{field} shows the text {excerpt(info.text)!r}, which contains the name {name!r}",
                    field=field,
                    text=excerpt(info.text),
                )
            return self.passed(f"{field} does not show the company name", text=excerpt(info.text))

        return _shape(self, subject.mark, "No mark to inspect", judge)


MARK_WITHOUT_NAME = declare(
    MarkWithoutName(
        "CAT-012",
        "Mark shows no company name",
        stage="catalog",
        requirement=("catalog",),
        severity="warning",
        remedy="Use the symbol alone as the mark; the company name belongs in the logo.",
    )
)
