"""A decided run's signed record (tasks/records), attached to the run as an artifact that says
its digest and how to fetch and verify it."""

from __future__ import annotations

from prefect import get_run_logger
from prefect.artifacts import acreate_markdown_artifact

from partner_review.flows.stages import blocking
from partner_review.tasks.context import Context
from partner_review.tasks.records.keys import KeyProblem
from partner_review.tasks.records.record import make
from partner_review.tasks.records.statement import NoRecord


def _sign(ctx: Context, slug: str, version: int) -> tuple[str, str] | str:
    """(envelope digest, keyid), or why no record could be made (the decision stands either way)."""
    try:
        made = make(ctx.store, ctx.settings, slug, version)
    except (NoRecord, KeyProblem) as error:
        return str(error)
    return made.digest, made.keyid


sign_record = blocking(_sign, name="sign-review-record", retries=2)


async def publish_record(ctx: Context, slug: str, version: int, key: str) -> str | None:
    """Sign the run's record and attach the artifact `key`; the envelope's digest, or None when no
    record could be made (logged as a warning: a record is evidence of a decision, not part of it)."""
    signed = await sign_record(ctx, slug, version)
    fetch = f"partner-review record {slug} --version {version} --output {slug}-v{version}.dsse.json"
    if isinstance(signed, str):
        get_run_logger().warning("no signed record of %s v%d: %s", slug, version, signed)
        markdown = f"# Signed review record: {slug} v{version}\n\nNot made: {signed}\n\nRetry with `{fetch}`.\n"
        await acreate_markdown_artifact(key=key, markdown=markdown, description="Signed review record")
        return None
    digest, keyid = signed
    markdown = (
        f"# Signed review record: {slug} v{version}\n\n"
        "An in-toto statement in a DSSE envelope, signed with Ed25519.\n\n"
        f"- Envelope SHA-256: `{digest}`\n"
        f"- Signing key id: `{keyid}`\n"
        f"- Fetch: `{fetch}`, or `GET /apps/{slug}/record?version={version}` on the receiver (bearer token)\n"
        f"- Verify: `partner-review verify {slug}-v{version}.dsse.json --public-key KEY.pem`, "
        "KEY.pem being what `partner-review public-key` prints\n"
    )
    await acreate_markdown_artifact(key=key, markdown=markdown, description="Signed review record")
    return digest
