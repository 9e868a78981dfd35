"""Catalog checks of the logo and mark (CAT-007 to CAT-012): safe SVG, static content, shape, text.

Each of the logo and the mark may be given inline (`app.logo_svg`), as a URL (`app.logo_url`), or
both; every form given is analysed the same way (`svg.inspect`), a remote one from the body that
`tasks.catalog.remote.fetch_svgs` fetched. A check passes only when every form given was
analysed and passed: a remote file that was not fetched (offline, or no fetch result handed in)
leaves the check skipped with the reason, never passed; one that could not be fetched, or was not
served as SVG, fails CAT-007/CAT-008.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from partner_review.models.checks import Check, NotRun, Result, register
from partner_review.models.settings import Settings
from partner_review.models.submission import App
from partner_review.tasks.catalog import svg
from partner_review.tasks.catalog.remote import SVG_TYPE, RemoteSvg
from partner_review.tasks.catalog.urls import excerpt, svg_url_problem

LOGO_SVG = register(
    "CAT-007",
    "Logo is a safe SVG",
    stage="catalog",
    requirement="catalog",
    severity="blocker",
    remedy="Provide the logo as a plain SVG file (no DOCTYPE or entities), inline or at an https URL ending in "
    ".svg that answers 200 with Content-Type image/svg+xml.",
)
MARK_SVG = register(
    "CAT-008",
    "Mark is a safe SVG",
    stage="catalog",
    requirement="catalog",
    severity="blocker",
    remedy="Provide the mark as a plain SVG file (no DOCTYPE or entities), inline or at an https URL ending in "
    ".svg that answers 200 with Content-Type image/svg+xml.",
)
NO_ACTIVE_CONTENT = register(
    "CAT-009",
    "Logo and mark are static SVG: no scripts, handlers, animation or outside references",
    stage="catalog",
    requirement="catalog",
    severity="blocker",
    remedy="Export the logo and mark again as plain static SVG (shapes, paths, text, gradients, clip paths, masks; "
    "references only to #ids of the same file): no scripts, on* attributes, animation, <a> links, external or "
    "data: references (embedded PNG/JPEG excepted), @import or url() in CSS, processing instructions.",
)
MARK_SQUARE = register(
    "CAT-010",
    "Mark is square",
    stage="catalog",
    requirement="catalog",
    severity="blocker",
    remedy='Give the mark a square viewBox (e.g. `viewBox="0 0 64 64"`) around the symbol.',
)
LOGO_HORIZONTAL = register(
    "CAT-011",
    "Logo is a horizontal lockup",
    stage="catalog",
    requirement="catalog",
    severity="warning",
    remedy="Prefer a horizontal logo lockup, wider than tall, with the symbol beside the company name.",
)
MARK_WITHOUT_NAME = register(
    "CAT-012",
    "Mark shows no company name",
    stage="catalog",
    requirement="catalog",
    severity="warning",
    remedy="Use the symbol alone as the mark; the company name belongs in the logo.",
)

NOT_FETCHED = "{field} was not fetched (the catalog stage was given no fetch result), so its SVG was not checked"


@dataclass(frozen=True)
class Unverified:
    """A remote SVG that was not fetched, and why."""

    reason: str
    because: NotRun = "not-verified"  # `offline` when the run was asked not to fetch


def _because(pending: list[Asset]) -> NotRun:
    """Skipped by request only when every unanalysed form was left unfetched offline."""
    offline = all(isinstance(a.found, Unverified) and a.found.because == "offline" for a in pending)
    return "offline" if offline else "not-verified"


@dataclass(frozen=True)
class Asset:
    """One form of the logo or mark: its field, its URL when remote, and what analysing it found."""

    field: str
    found: svg.SvgInfo | svg.SvgError | Unverified
    url: str | None = None
    note: str = ""  # e.g. a tolerated content type


def assets(
    kind: str, app: App, settings: Settings, remote: Mapping[str, RemoteSvg] | None
) -> tuple[list[Asset], str | None]:
    """Every form of the logo or mark given, analysed; and the URL's form problem, if any."""
    inline: str | None = getattr(app, f"{kind}_svg")
    url: str | None = getattr(app, f"{kind}_url")
    found: list[Asset] = []
    if inline is not None:
        found.append(Asset(f"app.{kind}_svg", _inspect(inline, settings)))
    url_problem = None
    if url is not None and url.strip():
        field = f"app.{kind}_url"
        problem = svg_url_problem(url)
        url_problem = f"{field} {problem} ({excerpt(url)!r})" if problem else None
        fetched = (remote or {}).get(kind)
        if fetched is None or fetched.url != url.strip():
            found.append(Asset(field, Unverified(NOT_FETCHED.format(field=field)), url))
        elif fetched.unverified:
            found.append(Asset(field, Unverified(fetched.unverified, "offline"), url))
        elif fetched.problem or fetched.text is None:
            found.append(Asset(field, svg.SvgError("unreachable", fetched.problem or "no body"), url))
        else:
            note = f" (served as {fetched.media_type}; {SVG_TYPE} is expected)" if fetched.tolerated_type else ""
            found.append(Asset(field, _inspect(fetched.text, settings), url, note))
    return found, url_problem


def _inspect(text: str, settings: Settings) -> svg.SvgInfo | svg.SvgError:
    try:
        return svg.inspect(text, max_bytes=settings.svg_max_bytes, max_depth=settings.svg_max_depth)
    except svg.SvgError as error:
        return error


def _dimensions(info: svg.SvgInfo) -> str:
    if info.view_box:
        return f"{info.view_box[2]:g}×{info.view_box[3]:g} (viewBox)"
    return f"{info.width:g}×{info.height:g} (width/height)"


def _refusal(asset: Asset, error: svg.SvgError) -> str:
    if error.kind == "unreachable":
        return error.reason
    return f"{asset.field} is refused: {error.reason}"


def svg_asset(check: Check, kind: str, found: list[Asset], url_problem: str | None, missing: str) -> Result:
    """CAT-007/CAT-008: every form given is a safe, well-formed SVG."""
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
        return check.failed("; ".join(problems), **evidence)
    pending = [a for a in found if isinstance(a.found, Unverified)]
    if pending:
        reasons = "; ".join(a.found.reason for a in pending if isinstance(a.found, Unverified))
        return check.skipped(reasons, because=_because(pending), fields=fields)
    if not found:
        return check.not_applicable(missing)
    described = []
    for asset in found:
        info = asset.found
        assert isinstance(info, svg.SvgInfo)
        size = _dimensions(info) if info.size_source else "no declared size"
        described.append(f"{asset.field} is an SVG, {size}{asset.note}")
    return check.passed("; ".join(described), fields=fields)


def active_content(logo: list[Asset], mark: list[Asset]) -> Result:
    """CAT-009: nothing outside the static subset, in every form of the logo and mark."""
    everything = logo + mark
    inspected = {a.field: a.found for a in everything if isinstance(a.found, svg.SvgInfo)}
    found = {field: list(info.dangers) for field, info in inspected.items() if info.dangers}
    if found:
        message = "; ".join(f"{field} has {', '.join(dangers)}" for field, dangers in found.items())
        return NO_ACTIVE_CONTENT.failed(message, dangers=found)
    not_inspected = [a for a in everything if not isinstance(a.found, svg.SvgInfo)]
    if not_inspected:
        reasons = [
            a.found.reason if isinstance(a.found, Unverified) else f"{a.field} could not be analysed (CAT-007/CAT-008)"
            for a in not_inspected
        ]
        clean = f"; no active content in {' and '.join(inspected)}" if inspected else ""
        return NO_ACTIVE_CONTENT.skipped(
            "; ".join(reasons) + clean, because=_because(not_inspected), inspected=list(inspected)
        )
    if not inspected:
        return NO_ACTIVE_CONTENT.not_applicable("No logo or mark given (reported by CAT-001)")
    return NO_ACTIVE_CONTENT.passed(f"No active content in {' and '.join(inspected)}", inspected=list(inspected))


def _shape(check: Check, found: list[Asset], missing: str, judge) -> Result:
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


def mark_square(found: list[Asset], settings: Settings) -> Result:
    def judge(field: str, info: svg.SvgInfo) -> Result:
        if info.aspect is None:
            return MARK_SQUARE.failed(
                f"{field} declares neither a viewBox nor a width and height, so it cannot be shown as a square",
                field=field,
            )
        evidence = {"field": field, "size": _dimensions(info), "aspect": round(info.aspect, 4)}
        if abs(info.aspect - 1) > settings.mark_square_tolerance:
            return MARK_SQUARE.failed(f"{field} is {_dimensions(info)}, not square", **evidence)
        return MARK_SQUARE.passed(f"{field} is square, {_dimensions(info)}", **evidence)

    return _shape(MARK_SQUARE, found, "app.mark_svg or app.mark_url is missing (reported by CAT-001)", judge)


def logo_horizontal(found: list[Asset]) -> Result:
    def judge(field: str, info: svg.SvgInfo) -> Result:
        if info.aspect is None:
            return LOGO_HORIZONTAL.failed(
                f"{field} declares neither a viewBox nor a width and height, so its shape is unknown", field=field
            )
        evidence = {"field": field, "size": _dimensions(info), "aspect": round(info.aspect, 4)}
        if info.aspect <= 1:
            return LOGO_HORIZONTAL.failed(f"{field} is {_dimensions(info)}, not wider than tall", **evidence)
        return LOGO_HORIZONTAL.passed(f"{field} is a horizontal lockup, {_dimensions(info)}", **evidence)

    return _shape(LOGO_HORIZONTAL, found, "app.logo_svg or app.logo_url is missing (reported by CAT-001)", judge)


def mark_without_name(name: str, found: list[Asset]) -> Result:
    def judge(field: str, info: svg.SvgInfo) -> Result:
        if not info.text:
            return MARK_WITHOUT_NAME.passed(f"{field} has no text")
        text = info.text.casefold()
        words = [w for w in re.findall(r"\w+", name.casefold()) if len(w) >= 3]
        if name.casefold() in text or any(re.search(rf"\b{re.escape(w)}\b", text) for w in words[:1]):
            return MARK_WITHOUT_NAME.failed(
                f"{field} shows the text {excerpt(info.text)!r}, which contains the name {name!r}",
                field=field,
                text=excerpt(info.text),
            )
        return MARK_WITHOUT_NAME.passed(f"{field} does not show the company name", text=excerpt(info.text))

    return _shape(MARK_WITHOUT_NAME, found, "No mark to inspect", judge)
