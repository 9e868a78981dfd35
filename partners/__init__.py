"""Sample partner destinations, conformant and faulty, for the demo, the tests and the benchmarks.

    from partner_review.partners import running
    with running("drops-fields") as base_url:      # http://127.0.0.1:<free port>
        ...  # POST {base_url}/v1/events with `Authorization: Bearer acme-api-key-for-review`

`running_apart(behaviour)` runs one in a child process instead (for timing tests).
`app(behaviour, **options)` builds the ASGI app, `serve(behaviour, host, port)` serves it until
stopped (the `partner-review sample-partner` command), `BEHAVIOURS` names what each one does.
`site_running()` serves the partner's sample website (partner page, launch post, docs, OAuth
button page) over HTTPS on loopback; see `partners.site`. `secure_running(weaknesses=...)` serves
website and destination over HTTPS with the security weaknesses in `WEAKNESSES`; see `partners.security`.
"""

from partner_review.partners.app import SamplePartner, app
from partner_review.partners.behaviours import BEHAVIOURS, Behaviour
from partner_review.partners.credentials import DEFAULT_SECRET, Credentials
from partner_review.partners.security import WEAKNESSES, secure_running
from partner_review.partners.server import running, running_apart, serve
from partner_review.partners.site import SampleSite, site_running

__all__ = [
    "BEHAVIOURS",
    "Behaviour",
    "Credentials",
    "DEFAULT_SECRET",
    "WEAKNESSES",
    "SamplePartner",
    "SampleSite",
    "app",
    "running",
    "running_apart",
    "secure_running",
    "serve",
    "site_running",
]
