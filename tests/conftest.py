"""Test-wide setup: quiet Prefect, loopback allowed for the outbound client, ../shared access."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
# Sample partners and test sites run on loopback; the guard itself is tested with this unset.
os.environ.setdefault("PARTNER_REVIEW_ALLOWED_NETWORKS", "127.0.0.0/8")

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """`../shared`; skipped where absent (a fresh clone), an error under .ci/run."""
    if not (SHARED / "REVIEW_RULES.md").exists():
        if os.environ.get("PARTNER_REVIEW_REQUIRE_SHARED") == "1":
            pytest.fail(f"{SHARED} is missing but PARTNER_REVIEW_REQUIRE_SHARED=1 (CI needs ../shared)")
        pytest.skip(f"{SHARED} is absent (a fresh clone without ../shared beside it)")
    return SHARED
