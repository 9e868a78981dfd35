"""The security checks (SEC-*): the partner's side of "Follow Segment's security guidance".

TLS versions and certificates of every host the submission names, HSTS and security.txt on the
website, credentials and error answers of the destination endpoints, secret settings. Declared
here; `tasks/security/stage.py` runs them.
"""

from __future__ import annotations

from partner_review.models.checks import register

HTTPS_ONLY = register(
    "SEC-001",
    "Every partner host is reached over https",
    stage="security",
    severity="warning",
    remedy="Serve your website, docs, OAuth pages, endpoints and events_url over https only (TLS 1.2 or newer), "
    "and give their https URLs.",
)
TLS_VERSION = register(
    "SEC-002",
    "Every host negotiates TLS 1.2 or newer and refuses TLS 1.0 and 1.1",
    stage="security",
    severity="blocker",
    network=True,
    remedy="Turn TLS 1.0 and 1.1 off on every host (e.g. nginx `ssl_protocols TLSv1.2 TLSv1.3;`) and keep TLS 1.2 "
    "or 1.3 on.",
)
CERTIFICATE_VALID = register(
    "SEC-003",
    "Every host's certificate is valid for its name and chains to a trusted root",
    stage="security",
    severity="blocker",
    network=True,
    remedy="Serve a certificate from a public certificate authority that names the host (subject alternative "
    "name), is within its validity dates and comes with its intermediate certificates.",
)
CERTIFICATE_EXPIRY = register(
    "SEC-004",
    "Every host's certificate is valid for 30 days or more",
    stage="security",
    severity="warning",
    network=True,
    remedy="Renew the certificate before its last 30 days (automate renewal, e.g. with ACME / Let's Encrypt).",
)
HSTS = register(
    "SEC-005",
    "The website and OAuth pages send Strict-Transport-Security for a year or more",
    stage="security",
    severity="warning",
    network=True,
    remedy="Send `Strict-Transport-Security: max-age=31536000; includeSubDomains` on every https answer of your "
    "website and OAuth pages.",
)
SECURITY_TXT = register(
    "SEC-006",
    "The website publishes a security.txt with a Contact and a future Expires (RFC 9116)",
    stage="security",
    severity="warning",
    network=True,
    remedy="Publish `https://<website>/.well-known/security.txt` (text/plain) with at least one `Contact:` "
    "(mailto: or https: URI) and one `Expires:` date in the future (RFC 9116).",
)
AUTHENTICATION = register(
    "SEC-007",
    "Destination endpoints refuse requests without or with wrong credentials (401 or 403)",
    stage="security",
    severity="blocker",
    network=True,
    applies_to="destination",
    remedy="Check the credential on every request to the endpoint and the batch endpoint; answer 401 (or 403) "
    "when it is missing or wrong, before reading the body.",
)
ERROR_BODIES = register(
    "SEC-008",
    "Error answers carry no stack trace, file path or server version",
    stage="security",
    severity="warning",
    network=True,
    remedy='Answer malformed requests with a short message of your own (e.g. `{"error": "the body is not '
    'JSON"}`): turn debug pages off, and send no `X-Powered-By` and no version in `Server`.',
)
SECRET_SETTINGS = register(
    "SEC-009",
    "Every setting that holds a credential is declared secret",
    stage="security",
    severity="blocker",
    applies_to="destination",
    remedy="Declare `secret: true` on every setting whose key or label names a credential (key, token, secret, "
    "password), so it is masked in the UI and in logs.",
)

CHECKS = (
    HTTPS_ONLY,
    TLS_VERSION,
    CERTIFICATE_VALID,
    CERTIFICATE_EXPIRY,
    HSTS,
    SECURITY_TXT,
    AUTHENTICATION,
    ERROR_BODIES,
    SECRET_SETTINGS,
)
