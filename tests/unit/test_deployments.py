"""prefect.yaml and `partner-review serve` define the same deployments, schedules and parameters."""

import yaml

from partner_review.deployments.definitions import DEFINITIONS, TIMEZONE, WORK_POOL, prefect_yaml
from tests.conftest import ROOT


def yaml_deployments() -> dict:
    return {d["name"]: d for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]}


def test_prefect_yaml_is_generated_from_the_definitions():
    assert (ROOT / "prefect.yaml").read_text() == prefect_yaml(), "prefect.yaml is stale: run `make docs`"


def test_prefect_yaml_matches_the_definitions():
    declared = yaml_deployments()
    assert set(declared) == {d.name for d in DEFINITIONS}
    for d in DEFINITIONS:
        y = declared[d.name]
        assert y["entrypoint"] == d.entrypoint and (ROOT / d.entrypoint.split(":")[0]).exists()
        assert y["description"] == d.description and y["parameters"] == d.parameters
        assert y["work_pool"]["name"] == WORK_POOL
        assert y["schedules"] == ([{"cron": d.cron, "timezone": TIMEZONE}] if d.cron else [])


def test_served_deployments_match_prefect_yaml():
    from partner_review.deployments.serve import deployments

    declared = yaml_deployments()
    served = {d.name: d for d in deployments()}
    assert set(served) == set(declared)
    for name, runner in served.items():
        y = declared[name]
        assert runner.entrypoint == y["entrypoint"]  # from the project root, as the worker's pull step sets it
        assert runner.parameters == y["parameters"] and runner.description == y["description"]
        crons = [{"cron": s.schedule.cron, "timezone": s.schedule.timezone} for s in runner.schedules or []]
        assert crons == y["schedules"]
