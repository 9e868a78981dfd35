"""The collector's full passes: a started receiver keeps what it holds frozen, even across load tests."""

from __future__ import annotations

import gc

from partner_review.tasks import collector


def test_a_load_test_ending_does_not_unfreeze_what_a_started_receiver_pinned(monkeypatch):
    monkeypatch.setattr(collector, "_pinned", False)
    gc.unfreeze()
    with collector.frozen():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0  # alone, a load test unfreezes when it ends

    collector.pin()
    pinned = gc.get_freeze_count()
    with collector.frozen(), collector.frozen():  # two load tests at once in one receiver
        pass
    assert gc.get_freeze_count() >= pinned > 0  # before: the load test's unfreeze undid the pin
    monkeypatch.setattr(collector, "_pinned", False)
    gc.unfreeze()


def test_the_receiver_pins_once_started(monkeypatch):
    from starlette.testclient import TestClient

    from partner_review.webhooks.app import app

    monkeypatch.setattr(collector, "_pinned", False)
    gc.unfreeze()
    monkeypatch.setenv("PARTNER_REVIEW_DISPATCH", "off")
    from partner_review.models.settings import get_settings

    get_settings.cache_clear()
    with TestClient(app):
        assert collector._pinned and gc.get_freeze_count() > 0
    monkeypatch.setattr(collector, "_pinned", False)
    gc.unfreeze()
