"""Adoption: how many customers actively use an integration (REVIEW_RULES section 1, Project rule).

A customer (workspace) is active when it delivered at least one event through the integration on
at least `active_min_days` distinct days of the trailing `active_window_days` days.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime

from pydantic import ValidationError

from partner_review.models.activity import Activity, batch_problems
from partner_review.models.settings import Settings
from partner_review.models.store import Store
from partner_review.models.submission import field_problems


@dataclass(frozen=True)
class Adoption:
    active: list[str]
    almost: dict[str, int]  # workspaces with some active days, not yet enough


def count_active(store: Store, settings: Settings, slug: str, *, today: date) -> Adoption:
    days = store.active_days(slug, until=today, window_days=settings.active_window_days)
    active = sorted(w for w, n in days.items() if n >= settings.active_min_days)
    return Adoption(active, {w: n for w, n in days.items() if n < settings.active_min_days})


class BadActivity(ValueError):
    """An activity file or body with problems, each with its line or index."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems[:20]) + (f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""))


def parse_records(items: list[tuple[str, object]], *, today: date | None = None) -> list[Activity]:
    """Validate (where, raw record) pairs; BadActivity names every bad one. With `today` (a file),
    also the records taken together: future days, an app, workspace and day twice."""
    records, problems = [], []
    for where, raw in items:
        try:
            records.append((where, Activity.model_validate(raw)))
        except ValidationError as error:
            problems += [f"{where}: {p}" for p in field_problems(error)]
    if today is not None:
        problems += batch_problems(records, today=today)
    if problems:
        raise BadActivity(problems)
    return [r for _, r in records]


def read_file(text: str, *, name: str, today: date | None = None) -> list[Activity]:
    """CSV (header: app,workspace_id,day,events_delivered,events_failed) or JSON lines."""
    today = today or datetime.now(UTC).date()
    if name.endswith(".csv") or text.lstrip().startswith("app,"):
        rows = list(csv.DictReader(io.StringIO(text)))
        return parse_records(
            [(f"line {i + 2}", {k: v for k, v in row.items() if v not in (None, "")}) for i, row in enumerate(rows)],
            today=today,
        )
    items: list[tuple[str, object]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append((f"line {number}", json.loads(line)))
        except json.JSONDecodeError as error:
            raise BadActivity([f"line {number}: not valid JSON ({error.msg})"]) from None
    return parse_records(items, today=today)
