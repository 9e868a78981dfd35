"""The one settings object: every number from REVIEW_RULES is a setting with its rule as default.

Read from environment variables prefixed `PARTNER_REVIEW_` (e.g. `PARTNER_REVIEW_DATABASE_URL`).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)\Z")
_RESOLVE_FORM = "HOST:PORT:ADDRESS, e.g. acme.example:443:203.0.113.7"


def parse_resolve_entry(entry: str) -> tuple[str, int, str]:
    """One `resolve` entry as (host name lowercased without a trailing dot, port, address);
    ValueError naming the entry and the form it should have."""
    parts = entry.strip().split(":", 2)
    if len(parts) != 3:
        raise ValueError(f"PARTNER_REVIEW_RESOLVE entry {entry!r} is not {_RESOLVE_FORM}")
    host, port, address = (part.strip() for part in parts)
    host = host.lower().rstrip(".")
    labels = host.split(".")
    if not host:
        raise ValueError(f"PARTNER_REVIEW_RESOLVE entry {entry!r} has no host name ({_RESOLVE_FORM})")
    if len(host) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        raise ValueError(
            f"PARTNER_REVIEW_RESOLVE entry {entry!r}: {host!r} is not an ASCII host name "
            "(write an international name in its xn-- form)"
        )
    if labels[-1].isdigit():
        raise ValueError(f"PARTNER_REVIEW_RESOLVE entry {entry!r}: the host is an address, not a host name")
    if not (port.isascii() and port.isdigit()) or not 1 <= int(port) <= 65535:
        raise ValueError(f"PARTNER_REVIEW_RESOLVE entry {entry!r}: the port {port!r} is not a number from 1 to 65535")
    try:
        ip = ipaddress.ip_address(address.removeprefix("[").removesuffix("]"))
    except ValueError:
        raise ValueError(f"PARTNER_REVIEW_RESOLVE entry {entry!r}: {address!r} is not an IP address") from None
    return host, int(port), str(ip)


def format_resolve_entry(host: str, port: int, address: str) -> str:
    return f"{host}:{port}:{f'[{address}]' if ':' in address else address}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARTNER_REVIEW_", extra="ignore")

    # Storage
    data_dir: Path = Field(
        Path("~/.local/share/partner-review"),
        validate_default=True,
        description="Directory for the SQLite store and the sealing key (`~` is your home directory).",
    )
    database_url: str | None = Field(None, description="SQLAlchemy URL; SQLite file in data_dir when unset.")
    secret_key: SecretStr | None = Field(
        None, description="Fernet key sealing stored secrets; generated into data_dir when unset."
    )
    record_key_file: Path | None = Field(
        None,
        description="Ed25519 private key (PEM, PKCS#8, mode 0600) that signs review records; "
        "`record-signing-key.pem` in data_dir, created on first use, when unset.",
    )

    # Webhook receiver
    webhook_secret: SecretStr = Field(SecretStr(""), description="Shared HMAC key for signed webhooks.")
    webhook_tolerance_seconds: int = Field(
        300, ge=1, description="Largest clock difference a signature timestamp may have."
    )
    max_body_bytes: int = Field(1024 * 1024, ge=1024, description="Largest webhook body accepted (413 above).")
    webhook_body_deadline_seconds: float = Field(
        10.0, gt=0, description="A webhook body not complete within this time is cut off (408)."
    )
    webhook_max_concurrent_bodies: int = Field(
        64, ge=1, description="Webhook bodies read at once per receiver process; more wait (within the deadline)."
    )
    webhook_head_timeout_seconds: float = Field(
        10.0, gt=0, description="A connection whose request head has not arrived within this time is closed."
    )
    api_token: SecretStr | None = Field(None, description="Bearer token for GET /submissions/{id}.")
    dispatch: str = Field(
        "deployment",
        pattern="^(deployment|local|off)$",
        description="How the receiver starts reviews: a Prefect deployment run, an in-process flow run, or not at all.",
    )
    review_deployment: str = Field(
        "review-submission/review-submission", description="Deployment the dispatcher starts (flow/deployment)."
    )
    dispatch_interval_seconds: float = Field(5.0, gt=0, description="How often pending dispatches are retried.")

    # Acknowledgment (REVIEW_RULES section 1)
    ack_business_days: int = Field(2, ge=0, description="Business days within which a submission is acknowledged.")
    holiday_country: str = Field(
        "US", description="Country whose public holidays are not business days (`holidays` codes)."
    )
    timezone: str = Field("America/Los_Angeles", description="Timezone business days are counted in.")

    # Notifications
    smtp_host: str | None = Field(
        None, description="SMTP server; unset: messages are recorded in the outbox and logged."
    )
    smtp_port: int = Field(25, description="SMTP port.")
    smtp_username: str | None = Field(None, description="SMTP login (with smtp_password).")
    smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS.")
    mail_from: str = Field("partner-review@localhost", description="From address of every message.")
    reviewers_email: str = Field("reviewers@localhost", description="Where escalations and reminders go.")
    slack_webhook_url: SecretStr | None = Field(
        None, description="Slack-compatible incoming webhook; each message is posted there too."
    )

    # Reviewer decision (the flow waits in the Prefect UI)
    decision_timeout_days: int = Field(30, ge=1, description="A review not decided within this many days fails.")
    decision_reminder_business_days: int = Field(2, ge=1, description="Remind the reviewers once after this long.")

    # Adoption and graduation (REVIEW_RULES section 1, Project rule)
    active_min_days: int = Field(3, ge=1, description="Days with a delivered event that make a workspace active.")
    active_window_days: int = Field(30, ge=1, description="Trailing window those days are counted in.")
    graduation_min_customers: int = Field(3, ge=1, description="Active customers needed to graduate to Public.")
    max_activity_records: int = Field(10_000, ge=1, description="Records accepted in one activity webhook body.")

    # Delivery health of live apps and the quality of the checks (issue 26)
    health_window_days: int = Field(30, ge=1, le=366, description="Days `health` and the health watch look back.")
    health_min_success_rate: float = Field(
        0.95, ge=0, le=1, description="Share of events delivered (of delivered + failed) a healthy app keeps."
    )
    flaky_flip_rate: float = Field(
        0.2,
        ge=0,
        le=1,
        description="A check whose outcome changes on this share of consecutive runs of one version is flaky.",
    )

    # Partner access requests (REVIEW_RULES section 6)
    access_decision_business_days: int = Field(
        1, ge=0, description="Business days within which an access request is approved or rejected."
    )
    access_answer_min_chars: int = Field(
        20, ge=1, le=1000, description="Shortest survey answer that counts as specific, in characters."
    )
    require_approved_partner: bool = Field(
        False,
        description="Refuse (403) a submission whose support e-mail and website domains belong to no approved partner.",
    )
    access_review_deployment: str = Field(
        "review-access-request/review-access-request",
        description="Deployment the receiver starts for an access request (flow/deployment).",
    )

    # Catalog (REVIEW_RULES section 2)
    description_max_chars: int = Field(500, description="Longest catalog description, in characters of text.")
    description_max_images: int = Field(2, description="Images a catalog description may hold.")
    oauth_max_redirect_uris: int = Field(5, description="OAuth redirect URIs allowed.")
    utm_query: str = Field(
        "utm_source=segmentio&utm_medium=docs&utm_campaign=partners",
        description="UTM parameters links to the platform must carry.",
    )
    catalog_url_prefix: str = Field(
        "https://segment.com/catalog/integrations/", description="The catalog listing URL is this plus the slug."
    )

    # Command line
    cli_max_file_bytes: int = Field(
        4 * 1024 * 1024, ge=1024, description="Largest file a command reads (submission, access request, ...)."
    )
    cli_max_line_bytes: int = Field(
        64 * 1024, ge=256, description="Longest line or CSV row `activity import` reads (the file itself streams)."
    )

    # Documentation linter (REVIEW_RULES section 3)
    docs_max_bytes: int = Field(128 * 1024, ge=1024, description="Largest doc page linted (larger: one finding).")
    docs_max_nesting: int = Field(20, ge=4, le=100, description="Deepest list/blockquote nesting parsed.")
    docs_max_findings_per_check: int = Field(25, ge=1, description="Findings listed per check and page.")
    svg_max_bytes: int = Field(1024 * 1024, ge=1024, description="Largest inline logo or mark SVG analysed.")
    svg_max_depth: int = Field(100, ge=2, description="Deepest element nesting accepted in an SVG.")
    mark_square_tolerance: float = Field(
        0.01, ge=0, lt=1, description="Relative width/height difference a square mark may have."
    )

    # Outbound HTTP (the safe client)
    allowed_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="CIDRs the outbound client may reach despite the private-address guard."
    )
    http_connect_timeout_seconds: float = Field(5.0, gt=0, description="Longest wait for a connection.")
    http_read_timeout_seconds: float = Field(10.0, gt=0, description="Longest wait for any one read.")
    http_max_seconds: float = Field(
        20.0, gt=0, description="Longest one request may take, headers and body (stops servers that drip)."
    )
    http_max_response_bytes: int = Field(5 * 1024 * 1024, ge=1024, description="Cap on a response body.")
    http_max_redirects: int = Field(5, ge=0, le=20, description="Redirect hops followed, each re-vetted.")
    ca_file: Path | None = Field(
        None, description="Extra CA certificates (PEM) the outbound client trusts, e.g. a private CA"
    )
    resolve: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Addresses for host names instead of DNS, like curl's `--resolve`: comma-separated "
        "`HOST:PORT:ADDRESS` entries (e.g. `acme.example:8443:127.0.0.1`, IPv6 as `[::1]`; repeat an entry for "
        "more addresses). The address still passes the private-address guard and `ALLOWED_NETWORKS`, and TLS "
        "still checks the certificate against HOST.",
    )

    # Partner page, launch post and link check (REVIEW_RULES section 1)
    platform_name: str = Field("Segment", description="The platform a partner page may name instead of the app.")
    link_host_concurrency: int = Field(10, ge=1, description="Requests in flight to one host at once.")
    link_request_interval_ms: int = Field(50, ge=0, description="Least time between two request starts to one host.")
    link_retries: int = Field(2, ge=0, le=10, description="Retries on transport errors, 429 and 5xx.")
    link_retry_after_max_seconds: float = Field(10.0, ge=0, description="Cap on a server's Retry-After.")
    link_accepted_status: str = Field(
        "200-299",
        pattern=r"^\s*\d{3}(\s*-\s*\d{3})?(\s*,\s*\d{3}(\s*-\s*\d{3})?)*\s*$",
        description="Status codes a live link may answer, e.g. `200-299,403`.",
    )

    # End-to-end destination test and Spec adherence (REVIEW_RULES sections 4-5); the event and
    # batch size limits are the volume_*_max_* settings below.
    e2e_timeout_seconds: float = Field(5.0, gt=0, description="A destination must answer each event within this time.")
    e2e_transport_retries: int = Field(
        1, ge=0, le=5, description="Re-sends after a connection error (never after an answer or a timeout)."
    )
    e2e_max_response_bytes: int = Field(1024 * 1024, ge=1024, description="Largest answer read from a destination.")
    e2e_concurrency: int = Field(4, ge=1, le=64, description="Requests in flight at once per destination.")
    spec_message_id_max_chars: int = Field(100, ge=1, description="Longest messageId the Spec allows.")
    spec_events_url_max_bytes: int = Field(5 * 1024 * 1024, ge=1024, description="Largest events_url payload read.")
    spec_max_events: int = Field(10_000, ge=1, description="Events checked per source at most.")
    spec_examples_per_rule: int = Field(5, ge=1, le=100, description="Offending events shown per Spec rule.")

    # High-data-volume test (REVIEW_RULES section 5)
    volume_rate: float = Field(200.0, gt=0, description="Target requests/s of the load test.")
    volume_duration_seconds: float = Field(20.0, gt=0, description="How long the load test sends.")
    volume_slot_wait_seconds: float = Field(
        1800.0,
        gt=0,
        description="How long a load test waits for its worker-host and partner-host concurrency slots "
        "(another review's load test holds them) before its checks are left not verified.",
    )
    volume_max_rate: float = Field(
        1000.0, gt=0, description="Highest target accepted: Segment's recommended maximum requests/s."
    )
    volume_max_duration_seconds: float = Field(600.0, gt=0, description="Longest load test accepted.")
    volume_timeout_seconds: float = Field(
        5.0, gt=0, description="Total time one request may take (the 5 s answer rule)."
    )
    volume_p99_seconds: float = Field(
        5.0, gt=0, description="Highest p99 latency that passes, from the intended send time."
    )
    volume_max_error_ratio: float = Field(
        0.01, ge=0, le=1, description="Error share that fails (errors must stay under it)."
    )
    volume_min_rate_ratio: float = Field(
        0.95, gt=0, le=1, description="Share of the target rate that must be achieved."
    )
    volume_batch: bool = Field(False, description="Send batches to the batch endpoint instead of single events.")
    volume_batch_size: int = Field(100, ge=1, le=2500, description="Events per batch request in batch mode.")
    volume_batch_max_events: int = Field(2500, ge=1, description="Spec limit: events per batch.")
    volume_batch_max_bytes: int = Field(500 * 1024, ge=1024, description="Spec limit: bytes per batch request.")
    volume_event_max_bytes: int = Field(32 * 1024, ge=256, description="Spec limit: bytes per event.")
    volume_connections: int = Field(256, ge=1, le=10_000, description="Requests in flight at most (open connections).")
    volume_rate_per_process: float = Field(
        2000.0,
        gt=0,
        description="Rate one load process is trusted to hold; above it the rate is split across processes.",
    )

    # Access requests: proof of domain ownership (ACC-009, ACC-010; off unless asked)
    access_domain_proof: bool = Field(
        False, description="Ask each access request to prove control of its company domain (ACC-009, ACC-010)."
    )
    dns_nameservers: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Name servers (`ADDRESS` or `ADDRESS:PORT`, comma-separated) for the domain proof's TXT "
        "lookup; the system's when empty.",
    )
    dns_timeout_seconds: float = Field(3.0, gt=0, description="Longest wait for the domain proof's DNS answer.")

    @field_validator("dns_nameservers", mode="before")
    @classmethod
    def _split_nameservers(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("allowed_networks", mode="before")
    @classmethod
    def _split_networks(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("resolve", mode="before")
    @classmethod
    def _split_resolve(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("resolve", mode="after")
    @classmethod
    def _check_resolve(cls, value: list[str]) -> list[str]:
        return [format_resolve_entry(*parse_resolve_entry(entry)) for entry in value]

    @property
    def resolve_table(self) -> dict[tuple[str, int], tuple[str, ...]]:
        """The `resolve` setting as (host, port) -> addresses, in the order given."""
        table: dict[tuple[str, int], tuple[str, ...]] = {}
        for entry in self.resolve:
            host, port, address = parse_resolve_entry(entry)
            table[host, port] = (*table.get((host, port), ()), address)
        return table

    @field_validator("data_dir", mode="after")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'partner-review.db').resolve()}"


_adopted: Settings | None = None


@functools.cache
def get_settings() -> Settings:
    return _adopted if _adopted is not None else Settings()


def adopt_settings(settings: Settings) -> None:
    """Make `get_settings` return `settings` in this process from now on: a worker process
    (tasks/offload.py) takes its caller's settings rather than reading its own environment."""
    global _adopted
    if _adopted is None or _adopted != settings:
        _adopted = settings
        get_settings.cache_clear()


def given_or_current(settings: Settings | None) -> Settings:
    """The settings a caller passed down (every entry point does, from its context: tasks/context.py),
    else this process's: the one fallback, for a direct call that passes none (a test, a REPL)."""
    return settings if settings is not None else get_settings()
