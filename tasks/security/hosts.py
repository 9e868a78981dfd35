"""The partner's own URLs a security review reaches, by role, and the hosts behind them."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from partner_review.models.submission import Submission

MAX_URLS = 50  # redirect URIs and components are bounded by the schema; this keeps a review's probes few


@dataclass(frozen=True)
class Target:
    """One URL the submission names, and what it is (e.g. `website`, `destination endpoint`)."""

    role: str
    url: str

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme.lower()

    @property
    def origin(self) -> tuple[str, int] | None:
        """(host, port) of an https URL, None for any other or a malformed one."""
        try:
            parts = urlsplit(self.url.strip())
            port = parts.port or 443
        except ValueError:
            return None
        if parts.scheme.lower() != "https" or not parts.hostname:
            return None
        return parts.hostname.lower(), port


@dataclass
class Host:
    """An https host and the roles it plays in the submission."""

    name: str
    port: int
    roles: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.name}:{self.port}" if self.port != 443 else self.name


def targets(submission: Submission) -> list[Target]:
    """Every partner URL of the review: website, own docs, OAuth pages, endpoints, events_url."""
    app = submission.app
    found: list[Target] = []
    if app.website:
        found.append(Target("website", app.website))
    if app.docs.own_url:
        found.append(Target("docs", app.docs.own_url))
    if app.oauth is not None:
        if app.oauth.button_page_url:
            found.append(Target("OAuth button page", app.oauth.button_page_url))
        found += [Target("OAuth redirect URI", uri) for uri in app.oauth.redirect_uris]
    for destination in submission.destinations:
        found.append(Target(f"destination endpoint ({destination.name})", destination.endpoint))
        if destination.batch_endpoint:
            found.append(Target(f"batch endpoint ({destination.name})", destination.batch_endpoint))
    for source in submission.sources:
        if source.events_url:
            found.append(Target(f"events_url ({source.name})", source.events_url))
    return found[:MAX_URLS]


def hosts(found: list[Target]) -> list[Host]:
    """The distinct https hosts (name and port) of `found`, each with its roles, in first-seen order."""
    out: dict[tuple[str, int], Host] = {}
    for target in found:
        origin = target.origin
        if origin is None:
            continue
        host = out.setdefault(origin, Host(*origin))
        if target.role not in host.roles:
            host.roles.append(target.role)
    return list(out.values())


def page_targets(found: list[Target]) -> list[Target]:
    """The pages HSTS is asked of: the website and the OAuth pages."""
    return [t for t in found if t.role == "website" or t.role.startswith("OAuth")]
