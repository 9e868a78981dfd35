"""The production layout (deployments/production/) for the fault suite, with the sample partner
and website on loopback. Needs haproxy, redis-server and PostgreSQL's initdb: missing tooling
fails under CI (which installs it) and skips elsewhere."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

WEBHOOK_SECRET = "ha-suite-webhook-secret"


def _require(what: str, found: bool, how: str) -> None:
    if found:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing but CI runs this suite: {how}")
    pytest.skip(f"{what} is missing: {how}")


def _port_free(port: int) -> bool:
    """Nothing listens there any more (a connection is refused)."""
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture(scope="module")
def partner():
    from partner_review.partners import running, site_running

    with running("conformant") as partner_url, site_running() as site:
        yield partner_url, site


@pytest.fixture(scope="module")
def layout(partner, tmp_path_factory):
    _require("haproxy", bool(shutil.which("haproxy") or Path("/usr/sbin/haproxy").exists()), "apt-get install haproxy")
    _require("redis-server", bool(shutil.which("redis-server")), "apt-get install redis-server")
    _require("initdb", bool(list(Path("/usr/lib/postgresql").glob("*/bin/initdb"))), "apt-get install postgresql")
    try:
        import prefect_redis  # noqa: F401
    except ImportError:
        _require("prefect-redis", False, "pip install -e '.[ha]'")
    from cryptography.fernet import Fernet

    from partner_review.deployments.production import Layout

    _, site = partner
    layout = Layout(
        tmp_path_factory.mktemp("ha"),
        secret=WEBHOOK_SECRET,
        secret_key=Fernet.generate_key().decode(),
        extra_env={
            "PARTNER_REVIEW_ALLOWED_NETWORKS": "127.0.0.0/8",
            "PARTNER_REVIEW_CA_FILE": str(site.ca_file),
            "PARTNER_REVIEW_VOLUME_RATE": "20",
            "PARTNER_REVIEW_VOLUME_DURATION_SECONDS": "1",
        },
    )
    ports = [layout.ports.postgres, layout.ports.redis, layout.ports.api, layout.ports.hooks,
             *layout.ports.api_servers, *layout.ports.receivers]  # fmt: skip
    try:
        layout.up()
        yield layout
    finally:
        leftovers = layout.down()
        if leftovers:
            print(f"killed processes of the layout left after its services stopped: {leftovers}")
    still_taken = [p for p in ports if not _port_free(p)]
    assert not still_taken, f"ports still taken after the layout stopped: {still_taken}"
