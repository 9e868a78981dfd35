"""The production layout on one machine: two Prefect API servers and their services behind
haproxy, PostgreSQL, Redis messaging, two process workers and two receivers (`layout.py`).

    python -m partner_review.deployments.production up [--dir DIR]

starts it and prints the addresses; Ctrl-C stops every process it started. The fault suite
(`pytest -m ha`, tests/ha/) runs the same `Layout`.
"""

from partner_review.deployments.production.layout import Layout
from partner_review.deployments.production.services import NotReady, Service

__all__ = ["Layout", "NotReady", "Service"]
