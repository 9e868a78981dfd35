"""Commands that serve until stopped: `serve` (the receiver and the deployments) and
`sample-partner` (a sample destination, cli/sample_partner.py)."""

from __future__ import annotations

from partner_review.cli.app import app
from partner_review.cli.errors import fail

PORTS = range(1, 65536)


def valid_port(port: int) -> int:
    if port not in PORTS:
        fail(f"--port {port} is not a TCP port (1 to 65535)")
    return port


@app.command
def serve(*, host: str = "127.0.0.1", port: int = 8000) -> int:
    """Run the webhook receiver and serve the deployments against the Prefect API at PREFECT_API_URL.

    Exit status: 1 when no Prefect API answers there, 2 usage error.

    Parameters
    ----------
    host
        Address the receiver listens on.
    port
        Port the receiver listens on.
    """
    from partner_review.cli.api import START_HINT, ApiUnavailable, check_reachable, configured_api_url

    valid_port(port)
    url = configured_api_url()
    if not url:
        fail(f"partner-review serve needs a running Prefect API: {START_HINT}", 1)
    try:
        check_reachable(url)
    except ApiUnavailable as error:
        fail(str(error), 1)
    from partner_review.deployments.serve import serve_all

    return serve_all(host=host, port=port)


# Registered by path: the sample partners load only when this command runs (they cost the others time).
app.command(
    "partner_review.cli.sample_partner:sample_partner",
    name="sample-partner",
    help="Serve a sample destination until stopped (endpoint /v1/events, batch /v1/batch).",
)
