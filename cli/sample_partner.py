"""`partner-review sample-partner`: its --help and its refusal list the same behaviours, those of
partners.BEHAVIOURS (the docstring is filled from it)."""

from __future__ import annotations

from partner_review.cli.errors import fail
from partner_review.cli.servers import valid_port
from partner_review.partners import BEHAVIOURS
from partner_review.partners import serve as serve_partner


def _named(function):
    function.__doc__ = (function.__doc__ or "").replace("{behaviours}", ", ".join(BEHAVIOURS))
    return function


@_named
def sample_partner(*, behaviour: str = "conformant", port: int = 8765, host: str = "127.0.0.1") -> int:
    """Serve a sample destination until stopped (endpoint /v1/events, batch /v1/batch).

    Parameters
    ----------
    behaviour
        One of: {behaviours}.
    port
        Port to listen on.
    host
        Address to listen on.
    """
    if behaviour not in BEHAVIOURS:
        fail(f"unknown behaviour '{behaviour}' (one of: {', '.join(BEHAVIOURS)})")
    serve_partner(behaviour, host, valid_port(port))
    return 0
