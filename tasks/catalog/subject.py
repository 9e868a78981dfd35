"""What the catalog checks judge (their subject), gathered once by the stage: the submission, and
every form of its logo and mark analysed (`svg.inspect`, a remote one from the body that
`tasks.catalog.remote.fetch_svgs` fetched beforehand; this module does no I/O).

Each of the logo and the mark may be given inline (`app.logo_svg`), as a URL (`app.logo_url`), or
both; every form given is analysed the same way. A remote file that was not fetched (offline, or
no fetch result handed in) is `Unverified`, with the reason; one that could not be fetched is an
`svg.SvgError` of kind `unreachable`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from partner_review.models.checks import NotRun
from partner_review.models.settings import Settings
from partner_review.models.submission import App, Submission
from partner_review.tasks.catalog import svg
from partner_review.tasks.catalog.remote import SVG_TYPE, RemoteSvg
from partner_review.tasks.catalog.urls import excerpt, svg_url_problem

NOT_FETCHED = "{field} was not fetched (the catalog stage was given no fetch result), so its SVG was not checked"


@dataclass(frozen=True)
class Unverified:
    """A remote SVG that was not fetched, and why."""

    reason: str
    because: NotRun = "not-verified"  # `offline` when the run was asked not to fetch


@dataclass(frozen=True)
class Asset:
    """One form of the logo or mark: its field, its URL when remote, and what analysing it found."""

    field: str
    found: svg.SvgInfo | svg.SvgError | Unverified
    url: str | None = None
    note: str = ""  # e.g. a tolerated content type


@dataclass(frozen=True)
class Catalog:
    """The subject of the catalog checks (CAT-001..CAT-018): the submission, and its logo and mark
    in every form given, analysed, with the form problem of each one's URL (None: none)."""

    submission: Submission
    logo: tuple[Asset, ...] = ()
    mark: tuple[Asset, ...] = ()
    logo_url_problem: str | None = None
    mark_url_problem: str | None = None

    @classmethod
    def of(cls, submission: Submission, settings: Settings, remote: Mapping[str, RemoteSvg] | None = None) -> Catalog:
        """The facts of `submission`: `remote` is what `fetch_svgs` found ("logo", "mark"); a URL
        without an entry there is left unverified."""
        logo, logo_url_problem = assets("logo", submission.app, settings, remote)
        mark, mark_url_problem = assets("mark", submission.app, settings, remote)
        return cls(submission, tuple(logo), tuple(mark), logo_url_problem, mark_url_problem)


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
