"""The remote logo and mark (`app.logo_url`, `app.mark_url`), fetched for the catalog checks.

`fetch_svgs(submission)` gets each URL once through the guarded `Fetcher` (every hop vetted,
redirects followed, transport errors retried), bounded by `svg_max_bytes` and the client's time
limits, and judges the answer: status 200 and an SVG content type. `image/svg+xml` is the type;
`text/xml` and `application/xml` are tolerated (the SVG is analysed, the message says which type
it had) because the platform re-hosts the file; anything else is refused. The catalog checks
(`verify_catalog_fields(..., remote=...)`) then analyse the body like an inline SVG; this
module never parses it. Offline, nothing is fetched and each remote file is marked unverified.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from partner_review.models.settings import Settings, given_or_current
from partner_review.models.submission import Submission

if TYPE_CHECKING:
    from partner_review.tasks.net.fetcher import Fetcher

SVG_TYPE = "image/svg+xml"
TOLERATED_TYPES = ("text/xml", "application/xml")


@dataclass(frozen=True)
class RemoteSvg:
    """What fetching one remote logo or mark found: its SVG text, or why there is none."""

    field: str  # "app.logo_url"
    url: str
    text: str | None = None  # the body, when it answered 200 with an SVG content type
    content_type: str = ""
    problem: str | None = None  # why it cannot be used: unreachable, not 200, not SVG, too large
    unverified: str | None = None  # why it was not fetched (an offline run)
    evidence: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def tolerated_type(self) -> bool:
        return self.text is not None and self.media_type != SVG_TYPE

    @property
    def media_type(self) -> str:
        return self.content_type.split(";", 1)[0].strip().lower()


def remote_fields(submission: Submission) -> dict[str, str]:
    """{"logo": url, "mark": url} for the remote SVGs the submission names."""
    app = submission.app
    given = {"logo": app.logo_url, "mark": app.mark_url}
    return {kind: url.strip() for kind, url in given.items() if url and url.strip()}


async def fetch_svgs(
    submission: Submission,
    *,
    offline: bool = False,
    settings: Settings | None = None,
    fetcher: Fetcher | None = None,
) -> dict[str, RemoteSvg]:
    """The remote logo and mark of `submission`, keyed "logo" and "mark" (only those given)."""
    settings = given_or_current(settings)
    urls = remote_fields(submission)
    if offline or not urls:
        return {
            kind: RemoteSvg(
                f"app.{kind}_url",
                url,
                unverified=f"Offline run: app.{kind}_url was not fetched, so its SVG was not checked",
            )
            for kind, url in urls.items()
        }
    from partner_review.tasks.net.fetcher import Fetcher

    own = fetcher is None
    fetcher = fetcher or Fetcher.from_settings(settings, max_body_bytes=settings.svg_max_bytes)
    try:
        fetched = await asyncio.gather(
            *(_fetch(fetcher, f"app.{kind}_url", url, settings) for kind, url in urls.items())
        )
        found = dict(zip(urls, fetched))
    finally:
        if own:
            await fetcher.aclose()
    return found


async def _fetch(fetcher: Fetcher, field_name: str, url: str, settings: Settings) -> RemoteSvg:
    fetched = await fetcher.page(url)
    evidence = fetched.evidence()
    evidence["content_type"] = fetched.content_type
    if fetched.error:
        return RemoteSvg(
            field_name, url, problem=f"{field_name} could not be fetched: {fetched.error}", evidence=evidence
        )
    if fetched.status != 200:
        return RemoteSvg(
            field_name, url, problem=f"{field_name} answered HTTP {fetched.status}, not 200", evidence=evidence
        )
    kind = fetched.content_type.split(";", 1)[0].strip().lower()
    if kind != SVG_TYPE and kind not in TOLERATED_TYPES:
        shown = kind or "no Content-Type"
        return RemoteSvg(
            field_name,
            url,
            content_type=fetched.content_type,
            problem=f"{field_name} is served as {shown}, not {SVG_TYPE}",
            evidence=evidence,
        )
    if fetched.text is None:  # a text type always has a body; kept for a server that sent none
        return RemoteSvg(field_name, url, problem=f"{field_name} sent no body", evidence=evidence)
    if len(fetched.text.encode("utf-8", "replace")) > settings.svg_max_bytes:
        return RemoteSvg(
            field_name,
            url,
            problem=f"{field_name} is larger than {settings.svg_max_bytes} bytes",
            evidence=evidence,
        )
    return RemoteSvg(field_name, url, text=fetched.text, content_type=fetched.content_type, evidence=evidence)
