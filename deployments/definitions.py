"""The deployments, once: `deployments/serve.py` serves these and `prefect.yaml` declares the same
for a process work pool (a test keeps the two equal)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

WORK_POOL = "partner-review"
TIMEZONE = "America/Los_Angeles"


@dataclass(frozen=True)
class Definition:
    name: str
    entrypoint: str  # path/to/file.py:flow_function
    description: str
    cron: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)

    def flow(self):
        path, function = self.entrypoint.split(":")
        module = "partner_review." + path.removesuffix(".py").replace("/", ".")  # the installed namespace
        return getattr(importlib.import_module(module), function)


DEFINITIONS = [
    Definition(
        "review-submission",
        "flows/review.py:review_submission",
        "One submission's review; started by the webhook receiver's dispatcher.",
    ),
    Definition(
        "sla-watch",
        "flows/sla.py:sla_watch",
        "Open acknowledgment and decision promises; escalates overdue ones.",
        cron="0 * * * *",
    ),
    Definition(
        "graduation-check",
        "flows/graduation.py:graduation_check",
        "Public Beta apps with OAuth and enough active customers graduate to Public.",
        cron="0 6 * * *",
    ),
    Definition(
        "recheck-live",
        "flows/recheck.py:recheck_live",
        "Live apps' pages, links and docs checked again; regressions go to the reviewers.",
        cron="0 7 * * 1",
    ),
]
