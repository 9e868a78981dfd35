"""Signed review records: the DSSE encoding to the spec, a record of a run decided by the real
decision path on both engines, and `record`/`verify`/`public-key` as a partner or auditor runs them."""

import asyncio
import base64
import copy
import hashlib
import json
import os
import stat
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from partner_review.models.checks import verdict
from partner_review.models.decision import Decision
from partner_review.models.lifecycle import State
from partner_review.models.submission import parse_submission
from partner_review.tasks.records import dsse
from partner_review.tasks.records.keys import KEY_FILE, keyid, public_pem, signing_key
from partner_review.tasks.records.record import RecordInvalid, check, make
from partner_review.tasks.records.statement import PREDICATE_TYPE, NoRecord, canonical
from tests.conftest import ROOT

NOW = datetime.now(UTC)
IN_A_MONTH = date.today() + timedelta(days=30)


def test_pae_is_the_spec_test_vector():
    # protocol.md of the DSSE spec: PAE("http://example.com/HelloWorld", "hello world")
    assert dsse.pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )
    assert dsse.pae("", b"") == b"DSSEv1 0  0 "
    assert dsse.pae("t/\u00e9", b"x") == "DSSEv1 4 t/\u00e9 1 x".encode()  # lengths in bytes, not characters


def decided(store, example, settings, decision="approve"):
    """A submission reviewed and decided as the flow does it: the real checks (offline), their
    results saved, the reviewer's decision applied with a waiver, the final verdict saved."""
    from partner_review.tasks.lifecycle import decisions
    from partner_review.tasks.lifecycle.waivers import apply_waivers
    from partner_review.tasks.pipeline import run_checks

    example["app"]["website"] = example["app"]["website"].replace("https://", "http://", 1)  # CAT-005 fails
    submission = parse_submission(example)
    sid = store.record_delivery(
        "d-1", b"b", submission, received_at=NOW, ack_due_at=NOW + timedelta(days=2)
    ).submission_id
    run = store.start_review_run(sid, "fr-1")
    results = asyncio.run(run_checks(submission, offline=True))
    store.save_results(run, results, verdict(results))
    store.transition(sid, State.acknowledged, actor="partner-review")
    store.transition(sid, State.in_review, actor="partner-review")
    choice = Decision(
        decision=decision,
        reviewer="rita@reviewers.example",
        comment="fine with the waiver",
        waivers=[{"check_id": "CAT-005", "reason": "website moves to https next week", "expires": IN_A_MONTH}],
    )
    stored = store.get_submission(sid)
    assert not decisions.problems(choice, stored, results, store.waivers(stored.slug), now=datetime.now(UTC))
    final = decisions.apply(store, settings, stored, run, choice, store.results_of(run), now=datetime.now(UTC))
    store.save_results(run, results, verdict(final, offline=True))  # the checks ran offline
    assert apply_waivers(results, store.waivers(stored.slug), now=datetime.now(UTC))
    return sid, results


@pytest.fixture
def settings(env):
    from partner_review.models.settings import get_settings

    return get_settings()


def envelope_of(store, settings):
    made = make(store, settings, "acme-analytics")
    return made, json.loads(made.envelope)


def test_a_decided_run_gives_a_statement_that_verifies(store, example, settings):
    sid, results = decided(store, example, settings)
    made, envelope = envelope_of(store, settings)
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    assert made.digest == hashlib.sha256(made.envelope).hexdigest()
    public = signing_key(settings).public_key()
    verified = check(envelope, public)
    statement = verified.statement
    assert statement["_type"] == "https://in-toto.io/Statement/v1" and statement["predicateType"] == PREDICATE_TYPE
    stored_payload = store.get_submission(sid).submission.public_dict()
    (subject,) = statement["subject"]
    assert subject == {
        "name": "acme-analytics@1",
        "digest": {"sha256": hashlib.sha256(canonical(stored_payload)).hexdigest()},
    }
    assert (
        "**********" in json.dumps(stored_payload)
        and "s3cret-for-reviewers" not in json.dumps(stored_payload)
        and "acme-api-key-for-review" not in json.dumps(stored_payload)
    )
    predicate = statement["predicate"]
    assert [c["id"] for c in predicate["checks"]] == [r.check for r in results]
    first = predicate["checks"][0]
    assert set(first) == {"id", "stage", "severity", "outcome", "waived", "evidence_sha256"}
    assert first["evidence_sha256"] == hashlib.sha256(canonical(results[0].evidence)).hexdigest()
    cat5 = next(c for c in predicate["checks"] if c["id"] == "CAT-005")
    assert cat5["outcome"] == "fail" and cat5["waived"] is True
    assert predicate["verdict"] == "pass"
    assert predicate["decision"] == {
        "decision": "approve",
        "reviewer": "rita@reviewers.example",
        "comment": "fine with the waiver",
    }
    assert [(w["check_id"], w["owner"]) for w in predicate["waivers"]] == [("CAT-005", "rita@reviewers.example")]
    assert set(predicate["timestamps"]) == {"received_at", "checks_started_at", "checks_finished_at", "decided_at"}
    assert predicate["software"]["name"] == "partner-review" and predicate["software"]["version"]
    assert "approve by rita@reviewers.example" in "\n".join(verified.summary())
    # The same run signed again is the same record, byte for byte (Ed25519 is deterministic).
    assert make(store, settings, "acme-analytics", 1).envelope == made.envelope


def test_no_record_for_an_unknown_app_an_undecided_run_or_another_version(store, example, settings):
    with pytest.raises(NoRecord, match="no app 'nope'"):
        make(store, settings, "nope")
    submission = parse_submission(example)
    sid = store.record_delivery("d-1", b"b", submission, received_at=NOW, ack_due_at=NOW).submission_id
    store.start_review_run(sid, "fr-1")
    with pytest.raises(NoRecord, match="'acme-analytics' has no decided review yet"):
        make(store, settings, "acme-analytics")
    with pytest.raises(NoRecord, match="version 7 of 'acme-analytics' has no decided review"):
        make(store, settings, "acme-analytics", 7)


def reencode(envelope, **changes):
    out = dict(envelope)
    if "payload" in changes:
        out["payload"] = base64.b64encode(changes["payload"]).decode()
    if "sig" in changes:
        out["signatures"] = [{**envelope["signatures"][0], "sig": base64.b64encode(changes["sig"]).decode()}]
    return out


def flipped(data: bytes, i: int) -> bytes:
    return data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]


def test_any_changed_byte_of_payload_signature_or_key_fails(env, settings):
    key = signing_key(settings)
    kid = keyid(key.public_key())
    payload = canonical(
        {
            "_type": "https://in-toto.io/Statement/v1",
            "predicateType": PREDICATE_TYPE,
            "subject": [{"name": "a@1", "digest": {"sha256": "0" * 64}}],
            "predicate": {"verdict": "pass"},
        }
    )
    envelope = dsse.sign("application/vnd.in-toto+json", payload, key, kid).as_json()
    check(envelope, key.public_key())
    sig = base64.b64decode(envelope["signatures"][0]["sig"])
    for i in range(len(payload)):
        with pytest.raises(RecordInvalid) as raised:
            check(reencode(envelope, payload=flipped(payload, i)), key.public_key())
        assert raised.value.kind == "signature" and "payload or the signature was changed" in str(raised.value)
    for i in range(len(sig)):
        with pytest.raises(RecordInvalid, match="payload or the signature was changed"):
            check(reencode(envelope, sig=flipped(sig, i)), key.public_key())
    raw = key.public_key().public_bytes_raw()
    for i in range(len(raw)):
        try:
            other = Ed25519PublicKey.from_public_bytes(flipped(raw, i))
        except ValueError:
            continue  # not a point on the curve: no key to verify with at all
        with pytest.raises(RecordInvalid) as raised:
            check(envelope, other)
        assert raised.value.kind == "wrong-key" and "wrong key" in str(raised.value)
    # A keyid rewritten to match the other key's does not help: the signature still fails.
    stranger = Ed25519PrivateKey.generate().public_key()
    forged = {**envelope, "signatures": [{**envelope["signatures"][0], "keyid": keyid(stranger)}]}
    with pytest.raises(RecordInvalid, match="payload or the signature was changed"):
        check(forged, stranger)
    # The payload type is signed too.
    with pytest.raises(RecordInvalid, match="payload or the signature was changed"):
        check({**envelope, "payloadType": "application/json"}, key.public_key())


@pytest.mark.parametrize(
    "change,words",
    [
        (lambda e: {**e, "payload": "!!not base64!!"}, "tampered payload: the payload is not valid base64"),
        (lambda e: {**e, "signatures": []}, "bad signature: the envelope carries no signature"),
        (lambda e: {**e, "signatures": [{"keyid": e["signatures"][0]["keyid"], "sig": "AAAA"}]}, "3 bytes where"),
        (lambda e: {**e, "signatures": [{"keyid": "", "sig": "%%"}]}, "signature is not valid base64"),
        (lambda e: {k: v for k, v in e.items() if k != "payload"}, "not a DSSE envelope: no payload"),
        (lambda e: [e], "not a DSSE envelope"),
    ],
)
def test_malformed_envelopes_say_what_is_wrong(env, settings, change, words):
    key = signing_key(settings)
    envelope = dsse.sign("application/vnd.in-toto+json", b"{}", key, keyid(key.public_key())).as_json()
    with pytest.raises(RecordInvalid, match=words):
        check(change(envelope), key.public_key())


def test_a_signed_payload_that_is_no_review_record_is_refused(env, settings):
    key = signing_key(settings)
    envelope = dsse.sign("application/vnd.in-toto+json", b'{"_type": "x"}', key, keyid(key.public_key())).as_json()
    with pytest.raises(RecordInvalid, match="not an in-toto Statement v1"):
        check(envelope, key.public_key())
    odd = canonical(
        {
            "_type": "https://in-toto.io/Statement/v1",
            "predicateType": PREDICATE_TYPE,
            "subject": [{"name": "a@1", "digest": {"sha256": "0" * 64}}],
            "predicate": {"checks": "many", "decision": [1], "waivers": [3, {"check_id": "X"}]},
        }
    )
    envelope = dsse.sign("application/vnd.in-toto+json", odd, key, keyid(key.public_key())).as_json()
    summary = check(envelope, key.public_key()).summary()  # odd fields of a signed record: shown, no crash
    assert "0 checks ()" in summary[3] and summary[4].startswith("waiver: X by None")


def test_the_key_is_created_once_with_mode_0600_or_taken_from_the_setting(env, settings, tmp_path, monkeypatch):
    key = signing_key(settings)
    path = settings.data_dir / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keyid(signing_key(settings).public_key()) == keyid(key.public_key())
    given = tmp_path / "given.pem"
    from cryptography.hazmat.primitives import serialization

    other = Ed25519PrivateKey.generate()
    given.write_bytes(
        other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    given.chmod(0o644)
    from partner_review.models.settings import Settings
    from partner_review.tasks.records.keys import KeyProblem

    chosen = Settings(data_dir=settings.data_dir, record_key_file=given)
    with pytest.raises(KeyProblem, match=r"open to other users \(mode 0644\); chmod 600"):
        signing_key(chosen)
    given.chmod(0o600)
    assert keyid(signing_key(chosen).public_key()) == keyid(other.public_key())
    with pytest.raises(KeyProblem, match="cannot read"):
        signing_key(Settings(data_dir=settings.data_dir, record_key_file=tmp_path / "missing.pem"))


# The commands ------------------------------------------------------------------------------------


def cli(*args, data_dir, database_url=None):
    env = {**os.environ, "PARTNER_REVIEW_DATA_DIR": str(data_dir)}
    env.pop("PARTNER_REVIEW_DATABASE_URL", None)
    if database_url:
        env["PARTNER_REVIEW_DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "partner_review.cli.main", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_record_and_verify_as_a_partner_runs_them(store, example, settings, tmp_path):
    decided(store, example, settings)
    data = settings.data_dir
    url = os.environ.get("PARTNER_REVIEW_DATABASE_URL")
    out = tmp_path / "record.json"
    done = cli("record", "acme-analytics", "--version", "1", "--output", str(out), data_dir=data, database_url=url)
    assert done.returncode == 0, done.stderr
    assert "acme-analytics v1 (approve by rita@reviewers.example)" in done.stdout
    assert hashlib.sha256(out.read_bytes()).hexdigest() in done.stdout

    ok = cli("verify", str(out), data_dir=data)
    assert ok.returncode == 0, ok.stderr
    assert "record holds" in ok.stdout and "subject: acme-analytics@1 sha256:" in ok.stdout
    assert "decision: approve by rita@reviewers.example" in ok.stdout and "waiver: CAT-005" in ok.stdout

    # Another machine: no data directory, the public key given.
    key = tmp_path / "key.pem"
    printed = cli("public-key", data_dir=data)
    assert printed.returncode == 0 and printed.stdout.startswith("-----BEGIN PUBLIC KEY-----")
    key.write_text(printed.stdout)
    elsewhere = tmp_path / "elsewhere"
    away = cli("verify", str(out), "--public-key", str(key), data_dir=elsewhere)
    assert away.returncode == 0, away.stderr
    assert not elsewhere.exists()  # verifying created nothing there
    no_key = cli("verify", str(out), data_dir=elsewhere)
    assert no_key.returncode == 2 and "--public-key" in no_key.stderr

    # A changed payload byte, a changed signature byte, another key: exit 1, saying which.
    envelope = json.loads(out.read_text())
    payload = base64.b64decode(envelope["payload"])
    at = payload.index(b'"approve"') + 2
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(reencode(envelope, payload=payload[:at] + b"X" + payload[at + 1 :])))
    bad = cli("verify", str(tampered), "--public-key", str(key), data_dir=elsewhere)
    assert bad.returncode == 1 and "payload or the signature was changed" in bad.stderr
    resigned = tmp_path / "resigned.json"
    sig = base64.b64decode(envelope["signatures"][0]["sig"])
    resigned.write_text(json.dumps(reencode(envelope, sig=flipped(sig, 10))))
    bad = cli("verify", str(resigned), "--public-key", str(key), data_dir=elsewhere)
    assert bad.returncode == 1 and "signature was changed" in bad.stderr
    other_key = tmp_path / "other.pem"
    other_key.write_text(public_pem(Ed25519PrivateKey.generate().public_key()))
    wrong = cli("verify", str(out), "--public-key", str(other_key), data_dir=elsewhere)
    assert wrong.returncode == 1 and "wrong key" in wrong.stderr
    # A record from another installation's key fails against this one's.
    theirs = tmp_path / "theirs"
    theirs_key = cli("public-key", data_dir=theirs)
    assert theirs_key.returncode == 0
    foreign = dsse.sign(
        "application/vnd.in-toto+json",
        payload,
        signing_key(type(settings)(data_dir=theirs)),
        keyid(signing_key(type(settings)(data_dir=theirs)).public_key()),
    )
    (tmp_path / "foreign.json").write_bytes(foreign.to_bytes())
    bad = cli("verify", str(tmp_path / "foreign.json"), data_dir=data)
    assert bad.returncode == 1 and "wrong key" in bad.stderr
    for result in (bad, wrong):
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_record_and_verify_usage_errors_exit_2_with_one_line(env, tmp_path):
    data = tmp_path / "data"
    out = tmp_path / "r.json"
    unknown = cli("record", "no-such-app", "--output", str(out), data_dir=data)
    assert unknown.returncode == 2 and "no app 'no-such-app'" in unknown.stderr and not out.exists()
    missing = cli("verify", str(tmp_path / "missing.json"), data_dir=data)
    assert missing.returncode == 2 and "cannot be read" in missing.stderr
    (tmp_path / "junk.json").write_text("{not json")
    junk = cli("verify", str(tmp_path / "junk.json"), data_dir=data)
    assert junk.returncode == 2 and "not a JSON file" in junk.stderr
    (tmp_path / "bad.pem").write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    (tmp_path / "ok.json").write_text("{}")
    badkey = cli("verify", str(tmp_path / "ok.json"), "--public-key", str(tmp_path / "bad.pem"), data_dir=data)
    assert badkey.returncode == 2 and "not a PEM public key" in badkey.stderr
    (tmp_path / "deep.json").write_text("[" * 200_000)
    deep = cli("verify", str(tmp_path / "deep.json"), data_dir=data)
    assert deep.returncode == 2 and "nested too deeply" in deep.stderr
    for done in (unknown, missing, junk, badkey, deep):
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert cli("verify", data_dir=data).returncode == 2


def test_the_reference_dsse_implementation_agrees_both_ways(env, settings):
    """securesystemslib (the DSSE reference in Python) verifies our envelope and refuses a tampered
    one; an envelope it signs with an Ed25519 key is one `check` accepts."""
    from securesystemslib.dsse import Envelope
    from securesystemslib.exceptions import VerificationError
    from securesystemslib.signer import CryptoSigner, SSlibKey

    key = signing_key(settings)
    kid = keyid(key.public_key())
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "a@1", "digest": {"sha256": "0" * 64}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {"verdict": "pass"},
    }
    ours = dsse.sign("application/vnd.in-toto+json", canonical(statement), key, kid).as_json()
    public = SSlibKey.from_crypto(key.public_key(), keyid=kid)
    assert Envelope.from_dict(copy.deepcopy(ours)).verify([public], 1) == {kid: public}  # from_dict edits its input
    altered = reencode(ours, payload=canonical({**statement, "predicate": {"verdict": "fail"}}))
    tampered = Envelope.from_dict(copy.deepcopy(altered))
    with pytest.raises(VerificationError):
        tampered.verify([public], 1)

    theirs = Envelope(payload=canonical(statement), payload_type="application/vnd.in-toto+json", signatures={})
    theirs.sign(CryptoSigner(key, public))
    assert check(theirs.to_dict(), key.public_key()).statement == statement
