import pytest

from partner_review.webhooks.signing import SignatureError, compute, sign, verify

BODY = b'{"version": 1}'
NOW = 1_800_000_000


def test_valid_signature_passes():
    verify(sign("k", BODY, timestamp=NOW), BODY, "k", now=NOW)


def test_any_of_several_v1_values_is_enough():
    header = f"t={NOW},v1={'0' * 64},v1={compute('k', NOW, BODY)}"
    verify(header, BODY, "k", now=NOW)


@pytest.mark.parametrize(
    "header,reason",
    [
        (None, "missing"),
        ("", "missing"),
        ("garbage", "malformed"),
        ("t=abc,v1=00", "unix seconds"),
        (f"t={NOW}", "malformed"),
        (f"v1={'0' * 64}", "malformed"),
        (f"t={NOW},v1={'0' * 64}", "does not match"),
        (f"t={NOW},v1=é", "does not match"),
    ],
)
def test_bad_headers_are_refused_with_a_reason(header, reason):
    with pytest.raises(SignatureError, match=reason):
        verify(header, BODY, "k", now=NOW)


def test_changed_body_is_refused():
    with pytest.raises(SignatureError, match="does not match"):
        verify(sign("k", BODY, timestamp=NOW), BODY + b" ", "k", now=NOW)


def test_wrong_secret_is_refused():
    with pytest.raises(SignatureError, match="does not match"):
        verify(sign("other", BODY, timestamp=NOW), BODY, "k", now=NOW)


@pytest.mark.parametrize("skew", [301, -301])
def test_stale_or_future_timestamps_are_refused(skew):
    with pytest.raises(SignatureError, match="300 s"):
        verify(sign("k", BODY, timestamp=NOW + skew), BODY, "k", now=NOW)


def test_within_tolerance_passes():
    verify(sign("k", BODY, timestamp=NOW - 299), BODY, "k", now=NOW)


def test_no_configured_secret_accepts_nothing():
    with pytest.raises(SignatureError, match="no webhook secret"):
        verify(sign("", BODY, timestamp=NOW), BODY, "", now=NOW)
