import json

import pytest

from partner_review.models.submission import InvalidSubmission, Submission, parse_submission


def test_bundled_example_is_valid(example):
    submission = parse_submission(example)
    assert submission.app.slug == "acme-analytics"
    assert [c.type for c in submission.components] == ["destination", "source"]


def test_contract_example_is_valid(shared_dir):
    parse_submission(json.loads((shared_dir / "contract" / "submission.example.json").read_text()))


def test_unknown_field_is_refused_with_its_path(example):
    example["app"]["suport_email"] = "x@y.z"
    with pytest.raises(InvalidSubmission) as caught:
        parse_submission(example)
    assert any(p.startswith("app.suport_email: unknown field") for p in caught.value.problems)


def test_missing_required_field_names_the_path(example):
    del example["components"][0]["endpoint"]
    with pytest.raises(InvalidSubmission) as caught:
        parse_submission(example)
    assert "components.0.destination.endpoint: required field is missing" in caught.value.problems


def test_header_auth_needs_a_header_name(example):
    example["components"][0]["auth"] = {"scheme": "header", "secret": "k"}
    with pytest.raises(InvalidSubmission, match="auth.header is required"):
        parse_submission(example)


def test_source_needs_events(example):
    example["components"][1].pop("sample_events")
    with pytest.raises(InvalidSubmission, match="sample_events or events_url"):
        parse_submission(example)


def test_secrets_never_print(example):
    submission = parse_submission(example)
    shown = repr(submission) + str(submission) + submission.model_dump_json() + json.dumps(submission.public_dict())
    assert "s3cret-for-reviewers" not in shown
    assert "acme-api-key-for-review" not in shown


def test_secrets_round_trip_through_public_form(example):
    submission = parse_submission(example)
    rebuilt = Submission.from_public(submission.public_dict(), submission.secret_values())
    assert rebuilt.destinations[0].auth.secret.get_secret_value() == "acme-api-key-for-review"
    assert rebuilt.app.test_account.password.get_secret_value() == "s3cret-for-reviewers"
    assert rebuilt == submission


@pytest.mark.parametrize("version", [True, "1", 1.0, 2**31, 2**63, 0])
def test_version_is_a_strict_integer_within_bounds(example, version):
    example["version"] = version
    with pytest.raises(InvalidSubmission) as refused:
        parse_submission(example)
    assert all(p.startswith("version:") for p in refused.value.problems)


@pytest.mark.parametrize("field", ["name", "slug"])
def test_control_characters_are_refused_in_names(example, field):
    example["app"][field] = "a\x00b"
    with pytest.raises(InvalidSubmission, match=f"app.{field}"):
        parse_submission(example)


def test_sample_events_nest_at_most_32_levels(example):
    source = next(c for c in example["components"] if c["type"] == "source")
    nested: dict = {"x": 1}
    for _ in range(30):  # 31 levels with the event itself, 32 with properties
        nested = {"n": nested}
    source["sample_events"][0]["properties"] = nested
    parse_submission(example)
    source["sample_events"][0]["properties"] = {"n": nested}
    with pytest.raises(InvalidSubmission, match="deeper than 32 levels"):
        parse_submission(example)
