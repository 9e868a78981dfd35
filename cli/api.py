"""The Prefect API a command talks to: the configured one, checked before use, or a temporary one
this process starts once and always stops."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

# Prefect waits 20 s by default for its temporary server; a loaded 2-core machine needs longer.
EPHEMERAL_STARTUP_SECONDS = 180
START_HINT = "start `prefect server start` and set PREFECT_API_URL=http://127.0.0.1:4200/api"


class ApiUnavailable(Exception):
    """No Prefect API to use; the message is one line that says what to set."""


def configured_api_url() -> str | None:
    return os.environ.get("PREFECT_API_URL") or None


def check_reachable(url: str, *, timeout: float = 10.0) -> None:
    """Raise ApiUnavailable unless `url`/health answers 200."""
    import httpx

    try:
        answer = httpx.get(f"{url.rstrip('/')}/health", timeout=timeout)
    except httpx.HTTPError as error:
        raise ApiUnavailable(
            f"the Prefect API at PREFECT_API_URL={url} does not answer ({type(error).__name__}); {START_HINT}"
        ) from None
    except ValueError:  # not a URL httpx can use
        raise ApiUnavailable(f"PREFECT_API_URL={url!r} is not a URL; {START_HINT}") from None
    if answer.status_code != 200:
        raise ApiUnavailable(
            f"the Prefect API at PREFECT_API_URL={url} answered {answer.status_code} to /health; {START_HINT}"
        )


def _use(url: str | None) -> None:
    """Point every Prefect client of this process (any thread) at `url`, or back at the environment."""
    from prefect.context import refresh_global_settings_context

    if url is None:
        os.environ.pop("PREFECT_API_URL", None)
    else:
        os.environ["PREFECT_API_URL"] = url
    refresh_global_settings_context()


@contextlib.contextmanager
def prefect_api() -> Iterator[tuple[str, bool]]:
    """Yield (API URL, temporary?): PREFECT_API_URL when set and reachable, else Prefect's temporary
    (ephemeral) server as partner-review runs it (`flows.prefect_server`), started once here with
    a timeout fit for a loaded machine and stopped on the way out, whatever happens, so no server
    outlives the command."""
    url = configured_api_url()
    if url:
        check_reachable(url)
        yield url, False
        return
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", str(EPHEMERAL_STARTUP_SECONDS))
    timeout = int(os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"])
    from partner_review.flows.prefect_server import embedded_server

    server = embedded_server()  # Prefect's, its SQLite write transactions IMMEDIATE (flows/prefect_server.py)
    try:
        try:
            server.start(timeout=timeout)
        except Exception as error:
            raise ApiUnavailable(
                f"Prefect's temporary API server did not start within {timeout} s ({str(error).splitlines()[0][:160]}); "
                f"raise PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, or {START_HINT}"
            ) from None
        _use(server.api_url)
        try:
            yield server.api_url, True
        finally:
            _use(None)
    finally:
        server.stop()
