"""Adoption: how many customers actively use an integration (REVIEW_RULES section 1, Project rule).

A customer (workspace) is active when it delivered at least one event through the integration on
at least `active_min_days` distinct days of the trailing `active_window_days` days.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

from pydantic import ValidationError

from partner_review.models.activity import Activity, batch_problems
from partner_review.models.jsonbody import NotJson, decode
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
    return read_lines(enumerate(text.splitlines(keepends=True), start=1), name=name, today=today)


def read_lines(lines: Iterable[tuple[int, str]], *, name: str, today: date | None = None) -> list[Activity]:
    """The records of (line number, text) pairs read one at a time (a large file streams). Every
    way a line can be wrong is a BadActivity naming the line: a CSV field longer than the csv
    module holds, more values than the header has columns, JSON that is not an object, nested
    too deeply or with an integer too long to convert."""
    today = today or datetime.now(UTC).date()
    lines = iter(lines)
    first = next(lines, None)
    if first is None:
        return []
    rest = itertools.chain([first], lines)
    if name.endswith(".csv") or first[1].lstrip().startswith("app,"):
        return parse_records(list(_csv_rows(rest)), today=today)
    items: list[tuple[str, object]] = []
    for number, line in rest:
        if not line.strip():
            continue
        try:
            value = decode(line.encode())
        except NotJson as error:
            raise BadActivity([f"line {number}: not valid JSON ({error})"]) from None
        if not isinstance(value, dict):
            raise BadActivity([f"line {number}: a JSON object {{...}} is expected, not {type(value).__name__}"])
        items.append((f"line {number}", value))
    return parse_records(items, today=today)


def _csv_rows(lines: Iterator[tuple[int, str]]) -> Iterator[tuple[str, object]]:
    numbers: list[int] = []

    def text() -> Iterator[str]:
        for number, line in lines:
            numbers.append(number)
            yield line

    reader = csv.DictReader(text())
    try:
        for row in reader:
            where = f"line {numbers[-1]}"
            if None in row:
                raise BadActivity(
                    [f"{where}: more values than the header has columns ({', '.join(reader.fieldnames or [])})"]
                )
            yield where, {k: v for k, v in row.items() if v not in (None, "")}
    except csv.Error as error:
        raise BadActivity([f"line {numbers[-1] if numbers else 1}: not a CSV row ({error})"]) from None
