"""recheck_live: every Public Beta and Public app's partner page, launch post, links, docs and
security stage, checked again; regressions are recorded on the app and sent to the reviewers; a new
security finding goes to the partner and the reviewers once, and its fix once."""

from __future__ import annotations

from prefect import flow, task
from prefect.artifacts import acreate_markdown_artifact
from prefect.cache_policies import NO_CACHE

from partner_review.models.checks import verdict
from partner_review.models.lifecycle import State
from partner_review.models.settings import get_settings
from partner_review.models.store import get_store
from partner_review.tasks import pipeline
from partner_review.tasks.lifecycle import report
from partner_review.tasks.lifecycle.recheck import (
    regressions,
    report_regressions,
    report_security_changes,
    security_changes,
)


@task(name="recheck-app", cache_policy=NO_CACHE, retries=1)
async def recheck_app(submission_id: str) -> tuple[str, list[str]]:
    store, settings = get_store(), get_settings()
    stored = store.get_submission(submission_id)
    markdown = stored.submission.app.docs.segment_markdown
    links, anchors = pipeline.links_and_anchors(markdown) if markdown else ([], set())
    results = list(await pipeline.lint_documentation(stored.submission)) + list(
        await pipeline.check_links(stored.submission, doc_links=links, doc_anchors=anchors)
    )
    scanned = list(await pipeline.check_security(stored.submission))
    launched = store.latest_review(submission_id)  # the review the app was approved on is the baseline
    found = regressions(launched[1] if launched else [], results)
    last = store.latest_review(submission_id, kind="recheck") or launched  # security: last week's scan
    new, fixed = security_changes(last[1] if last else [], scanned)
    run_id = store.start_review_run(submission_id, None, kind="recheck")
    store.save_results(run_id, results + scanned, verdict(results + scanned))
    report_regressions(store, settings, stored, found)
    report_security_changes(store, settings, stored, run_id, new, fixed)
    return stored.slug, sorted({r.check for r in found})


@flow(name="recheck-live")
async def recheck_live() -> dict[str, list[str]]:
    """Weekly: per live app, the checks that passed at approval and fail now (a regression stays
    listed every week until fixed; the reviewers are mailed once per set)."""
    found = {}
    for sid in get_store().submissions_in(State.public_beta, State.public):
        slug, regressed = await recheck_app(sid)
        found[slug] = regressed
    lines = ["# Weekly re-check of live apps", "", "| app | regressions |", "|---|---|"]
    lines += [f"| {report.escape(slug, 100)} | {', '.join(ids) or 'none'} |" for slug, ids in found.items()]
    await acreate_markdown_artifact(key="recheck-live", markdown="\n".join(lines) + "\n")
    return found
