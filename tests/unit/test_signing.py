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


@pytest.mark.parametrize("secret", ["", " ", "\t\n "])
def test_a_blank_secret_is_no_secret(secret):
    with pytest.raises(SignatureError, match="no webhook secret"):
        verify(sign(secret, BODY, timestamp=NOW), BODY, secret, now=NOW)


@pytest.mark.parametrize("stamp", ["¹²³", "١٨٠٠٠٠٠٠٠٠", "１８００００００００", "+1800000000", " 1800000000"])
def test_a_timestamp_that_is_not_ascii_unix_seconds_is_malformed(stamp):
    with pytest.raises(SignatureError, match="unix seconds"):
        verify(f"t={stamp},v1={'0' * 64}", BODY, "k", now=NOW)


def test_a_header_made_by_stripes_own_test_helper_is_accepted():
    import stripe

    payload = BODY.decode()
    header = stripe.WebhookSignature.generate_signature_header(payload, "whsec_test_secret", timestamp=NOW)
    verify(header, BODY, "whsec_test_secret", now=NOW)
    stripe.WebhookSignature.verify_header(payload, sign("whsec_test_secret", BODY), "whsec_test_secret", 300)


def test_standard_webhooks_headers_from_the_reference_library_are_accepted():
    import base64
    from datetime import UTC, datetime

    from standardwebhooks.webhooks import Webhook

    from partner_review.webhooks.signing import SW_ID, SW_SIGNATURE, SW_TIMESTAMP, expect, standard_sign

    secret = "whsec_" + base64.b64encode(b"sixteen byte key").decode().rstrip("=")
    sender = Webhook(secret)
    stamp = datetime.fromtimestamp(NOW, UTC)
    headers = {
        SW_ID: "msg_1",
        SW_TIMESTAMP: str(NOW),
        SW_SIGNATURE: "v1,bm9wZQ== " + sender.sign("msg_1", stamp, BODY.decode()),
    }
    expected = expect(headers, secret, now=NOW)
    expected.verify(BODY)
    with pytest.raises(SignatureError, match="does not match"):
        expect({**headers, SW_ID: "msg_2"}, secret, now=NOW).verify(BODY)  # the id is signed
    ours = standard_sign(secret, "msg_3", BODY, timestamp=NOW)
    assert ours[SW_SIGNATURE] == sender.sign("msg_3", stamp, BODY.decode())


def test_the_signature_hash_is_the_same_whatever_decoys_surround_it():
    from partner_review.webhooks.signing import HEADER, expect

    plain = expect({HEADER: sign("k", BODY, timestamp=NOW)}, "k", now=NOW).verify(BODY)
    decorated = expect({HEADER: sign("k", BODY, timestamp=NOW) + f",v1={'0' * 64}"}, "k", now=NOW).verify(BODY)
    assert plain == decorated
