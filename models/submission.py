"""A partner's submission: exactly the fields of the outside contract (shared/contract/README.md).

The schema checks structure and types; content rules (slug format, https, SVG shape...) are
checks with remedies, so a partner sees every problem at once instead of the first 422.
Unknown fields are refused. Secrets are `SecretStr` and never print.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, model_validator

from partner_review.models.jsonbody import MAX_FREE_FORM_DEPTH, depth

# One line of text: control characters (NUL, newlines, escapes) have no place in a name and
# NUL cannot be stored on PostgreSQL.
NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
# C0 and C1 control characters, DEL, and the Unicode line/paragraph separators: never part of a
# name or an address (a CR or LF in an e-mail address would inject headers into a message).
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# The catalog's slug: lower-case ASCII letters and digits joined by single hyphens, 2 to 64 characters.
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*\Z")  # \Z: "acme\n" is not a slug ($ would match before the newline)
SLUG_LENGTHS = (2, 64)
SLUG_RULE = "lower-case ASCII letters and digits joined by single hyphens, 2 to 64 characters (e.g. acme-analytics)"


def no_controls(value: str) -> str:
    if CONTROL.search(value):
        raise ValueError("control characters (such as CR, LF or NUL) are not allowed here")
    return value


def slug_problem(slug: str) -> str | None:
    """Why `slug` is not a catalog slug (SLUG_RULE), or None. Checked where a submission enters
    (the receiver); `check` reports it as CAT-002 with the other catalog findings."""
    low, high = SLUG_LENGTHS
    if low <= len(slug) <= high and SLUG.match(slug):
        return None
    return f"must be {SLUG_RULE}"


Url = Annotated[str, Field(max_length=2048), AfterValidator(no_controls)]
Email = Annotated[str, Field(max_length=320), AfterValidator(no_controls)]
Text = Annotated[str, Field(max_length=10_000)]
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=NO_CONTROL)]
MAX_VERSION = 2**31 - 1
Svg = Annotated[str, Field(max_length=1024 * 1024)]
CallType = Literal["identify", "track", "page", "screen", "group", "alias"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Categories(Strict):
    primary: Name | None = None
    secondary: Name | None = None


class Docs(Strict):
    own_url: Url | None = None
    segment_url: Url | None = None
    catalog_url: Url | None = None
    segment_markdown: Annotated[str, Field(max_length=1024 * 1024)] | None = None
    segment_markdown_url: Url | None = None


class TestAccount(Strict):
    username: Name
    password: SecretStr
    notes: Text | None = None


class OAuth(Strict):
    client_id: Name | None = None
    redirect_uris: Annotated[list[Url], Field(max_length=100)] = []
    scopes: Annotated[list[Name], Field(max_length=100)] = []
    button_page_url: Url | None = None


class App(Strict):
    name: Name
    slug: Annotated[str, Field(min_length=1, max_length=100, pattern=NO_CONTROL)]
    description: Text | None = None
    website: Url | None = None
    categories: Categories = Categories()
    logo_svg: Svg | None = None
    logo_url: Url | None = None
    mark_svg: Svg | None = None
    mark_url: Url | None = None
    support_email: Email | None = None
    screenshots: Annotated[list[Url], Field(max_length=50)] = []
    docs: Docs = Docs()
    partner_page_url: Url | None = None
    launch_post_url: Url | None = None
    test_account: TestAccount | None = None
    oauth: OAuth | None = None


class Auth(Strict):
    scheme: Literal["bearer", "basic", "header"]
    header: Annotated[str, Field(max_length=200, pattern=r"^[A-Za-z0-9-]+$")] | None = None
    secret: SecretStr

    @model_validator(mode="after")
    def _header_named(self) -> Auth:
        if self.scheme == "header" and not self.header:
            raise ValueError("auth.header is required when auth.scheme is 'header'")
        return self


class Setting(Strict):
    key: Name
    label: Name
    required: bool = False
    secret: bool = False


class Destination(Strict):
    type: Literal["destination"]
    name: Name
    endpoint: Url
    batch_endpoint: Url | None = None
    auth: Auth
    supported_calls: Annotated[list[CallType], Field(max_length=6)] = []
    settings: Annotated[list[Setting], Field(max_length=100)] = []


def _shallow(event: dict[str, Any]) -> dict[str, Any]:
    if depth(event) > MAX_FREE_FORM_DEPTH:
        raise ValueError(f"nested deeper than {MAX_FREE_FORM_DEPTH} levels (the limit for free-form objects)")
    return event


FreeForm = Annotated[dict[str, Any], AfterValidator(_shallow)]


class Source(Strict):
    type: Literal["source"]
    name: Name
    sample_events: Annotated[list[FreeForm], Field(max_length=10_000)] = []
    events_url: Url | None = None

    @model_validator(mode="after")
    def _has_events(self) -> Source:
        if not self.sample_events and not self.events_url:
            raise ValueError("a source needs sample_events or events_url (or both)")
        return self


Component = Annotated[Destination | Source, Field(discriminator="type")]


class Submission(Strict):
    version: Annotated[int, Field(strict=True, ge=1, le=MAX_VERSION)]
    app: App
    components: Annotated[list[Component], Field(min_length=1, max_length=20)]

    @property
    def destinations(self) -> list[Destination]:
        return [c for c in self.components if isinstance(c, Destination)]

    @property
    def sources(self) -> list[Source]:
        return [c for c in self.components if isinstance(c, Source)]

    def without_sample_events(self) -> Submission:
        """This submission with its sources' sample events left out: all that the catalog and
        docs checks need, and far cheaper to send to a worker process (up to 10,000 events a source)."""
        if not any(s.sample_events for s in self.sources):
            return self
        components = [
            c.model_copy(update={"sample_events": []}) if isinstance(c, Source) else c for c in self.components
        ]
        return self.model_copy(update={"components": components})

    def public_dict(self) -> dict[str, Any]:
        """The submission as JSON-ready data with every secret masked."""
        return self.model_dump(mode="json")

    def secret_values(self) -> dict[str, str]:
        """Secret values by their JSON path, for sealing in the store."""
        out: dict[str, str] = {}
        if self.app.test_account:
            out["app.test_account.password"] = self.app.test_account.password.get_secret_value()
        for i, component in enumerate(self.components):
            if isinstance(component, Destination):
                out[f"components.{i}.auth.secret"] = component.auth.secret.get_secret_value()
        return out

    @classmethod
    def from_public(cls, data: dict[str, Any], secrets: dict[str, str]) -> Submission:
        """Rebuild a submission from its masked form and its sealed secrets."""
        import copy

        data = copy.deepcopy(data)
        for path, value in secrets.items():
            node: Any = data
            *parents, leaf = path.split(".")
            for part in parents:
                node = node[int(part)] if isinstance(node, list) else node[part]
            node[leaf] = value
        return cls.model_validate(data)


class InvalidSubmission(ValueError):
    """A submission file or body that does not match the schema, with readable field paths."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


def field_problems(error: Any) -> list[str]:
    """Turn a pydantic ValidationError into `path: message` lines a partner can act on."""
    problems = []
    for item in error.errors(include_url=False):
        path = ".".join(str(p) for p in item["loc"]) or "(body)"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown field (check its spelling against the submission schema)"
        elif item["type"] == "missing":
            message = "required field is missing"
        problems.append(f"{path}: {message}")
    return problems


def parse_submission(data: Any) -> Submission:
    """Validate decoded JSON as a submission; raises InvalidSubmission with field paths."""
    from pydantic import ValidationError

    try:
        return Submission.model_validate(data)
    except ValidationError as error:
        raise InvalidSubmission(field_problems(error)) from None
