"""Property tests: the signature verifier, the Spec validator, the docs linter and the SVG
inspector never crash on anything, and the verifier accepts exactly what was signed."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from partner_review.models.spec import Violation, validate
from partner_review.tasks.catalog.svg import SvgError, inspect
from partner_review.tasks.docs.lint import lint
from partner_review.webhooks.signing import SignatureError, compute, sign, verify

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = 1_800_000_000

# Signatures -----------------------------------------------------------------------------------

header_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300)
header_parts = st.lists(
    st.one_of(
        st.builds(lambda v: f"t={v}", st.one_of(st.integers(-(10**15), 10**15).map(str), header_text)),
        st.builds(lambda v: f"v1={v}", st.one_of(st.binary(min_size=32, max_size=32).map(bytes.hex), header_text)),
        header_text,
    ),
    max_size=8,
).map(",".join)


@FAST
@given(
    header=st.one_of(st.none(), header_text, header_parts),
    body=st.binary(max_size=2048),
    secret=st.text(min_size=1, max_size=64),
)
@example(header="t=1800000000,v1=" + "0" * 64, body=b"{}", secret="s")
@example(header="t=" + "9" * 13 + ",v1=ab", body=b"", secret="s")
@example(header="t=١٢٣,v1=ab", body=b"", secret="s")  # non-ASCII digits pass str.isdigit()
def test_verify_refuses_anything_not_signed_with_a_reason(header, body, secret):
    try:
        verify(header, body, secret, now=NOW)
    except SignatureError as error:
        assert str(error)
    else:  # accepted: then some v1 in it really is the HMAC of this body at its timestamp
        fields = dict(part.strip().partition("=")[::2] for part in header.split(",") if part.startswith("t="))
        t = int(fields["t"])
        assert abs(NOW - t) <= 300
        assert compute(secret, t, body) in header.lower()


@FAST
@given(
    body=st.binary(max_size=4096),
    secret=st.text(min_size=1, max_size=64).filter(str.strip),  # a blank secret accepts nothing
    skew=st.integers(-300, 300),
    decoys=st.lists(st.binary(min_size=32, max_size=32).map(bytes.hex), max_size=3),
)
def test_a_genuine_signature_among_decoys_is_accepted(body, secret, skew, decoys):
    genuine = sign(secret, body, timestamp=NOW + skew)
    header = genuine + "".join(f",v1={d}" for d in decoys)
    verify(header, body, secret, now=NOW)


@FAST
@given(
    body=st.binary(max_size=1024), secret=st.text(min_size=1, max_size=64).filter(str.strip), flip=st.integers(0, 10**6)
)
def test_a_changed_body_or_secret_is_refused(body, secret, flip):
    header = sign(secret, body, timestamp=NOW)
    changed = (
        body + b"x"
        if not body
        else body[: flip % len(body)] + bytes([body[flip % len(body)] ^ 1]) + body[flip % len(body) + 1 :]
    )
    with pytest.raises(SignatureError):
        verify(header, changed, secret, now=NOW)
    with pytest.raises(SignatureError):
        verify(header, body, secret + "!", now=NOW)


# Spec validator -------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=40,
)
call_types = st.sampled_from(["track", "identify", "page", "screen", "group", "alias", "TRACK", "", "batch", 7, None])
event_like = st.fixed_dictionaries(
    {"type": call_types},
    optional={
        "event": json_values,
        "userId": json_values,
        "anonymousId": json_values,
        "messageId": json_values,
        "timestamp": st.one_of(st.text(max_size=40), json_values),
        "properties": json_values,
        "traits": json_values,
        "context": json_values,
        "groupId": json_values,
        "previousId": json_values,
        "name": json_values,
        "integrations": json_values,
    },
)


@FAST
@given(event=st.one_of(json_values, event_like), source=st.booleans(), slug=st.one_of(st.none(), st.text(max_size=20)))
def test_spec_validate_never_raises_and_names_a_rule(event, source, slug):
    found = validate(event, source=source, slug=slug)
    assert isinstance(found, list) and all(isinstance(v, Violation) and v[0] for v in found)


def test_spec_validate_survives_nesting_deeper_than_the_json_encoder():
    deep: dict = {}
    node = deep
    for _ in range(50_000):
        node["x"] = {}
        node = node["x"]
    found = validate({"type": "track", "event": "E", "userId": "u", "properties": deep})
    assert found and found[0][0] == "SPEC-001"


# Docs linter ----------------------------------------------------------------------------------

markdown_bits = st.sampled_from(
    [
        "# ",
        "## ",
        "### ",
        "- ",
        "* ",
        "1. ",
        "> ",
        "```",
        "```js\n",
        "~~~",
        "    ",
        "\n",
        "\n\n",
        "|",
        "| --- |",
        "[",
        "]",
        "(",
        ")",
        "![",
        "<",
        ">",
        "<!--",
        "-->",
        "{:",
        "}",
        "{%",
        "%}",
        "{{",
        "}}",
        "---\n",
        "title:",
        "`",
        "*",
        "_",
        "**",
        "\\",
        "&amp;",
        "&#x0;",
        "http://",
        "https://acme.example",
        "mailto:",
        "#anchor",
        "<table>",
        "</table>",
        "<a href='x'>",
        "</a>",
        "\t",
        "\r\n",
        "\u200b",
        "\ufeff",
        "\x00",
        "é",
        "😀",
    ]
)
markdown = st.one_of(
    st.lists(st.one_of(markdown_bits, st.text(max_size=20)), max_size=120).map("".join),
    st.text(max_size=2000),
    st.binary(max_size=2000),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(page=markdown, path=st.one_of(st.none(), st.sampled_from(["destinations/x.md", "sources/y.md", "z.md"])))
def test_docs_lint_never_raises_on_any_page(page, path):
    results = lint(page, path=path)
    assert results and all(
        r.stage == "docs" and r.outcome in ("pass", "warn", "fail", "skip", "error") for r in results
    )
    json.dumps([r.evidence for r in results])  # evidence stays JSON (the report and the store need it)


# SVG inspector --------------------------------------------------------------------------------

svg_bits = st.sampled_from(
    [
        "<svg xmlns='http://www.w3.org/2000/svg'",
        " viewBox='0 0 10 10'",
        " width='1e309'",
        " height='-0'",
        ">",
        "</svg>",
        "<g>",
        "</g>",
        "<script>",
        "</script>",
        "<!DOCTYPE svg [",
        "<!ENTITY a 'x'>",
        "]>",
        "&a;",
        "&#0;",
        "<![CDATA[",
        "]]>",
        "<?xml version='1.0'?>",
        "<?xml-stylesheet href='x'?>",
        "<a href='javascript:1'/>",
        " onload='x'",
        "<foreignObject>",
        "<text>",
        "</text>",
        "<!--",
        "-->",
        "\x00",
        "\ufeff",
        " xmlns:x='y'",
        "<x:y/>",
    ]
)
svg_text = st.one_of(
    st.lists(st.one_of(svg_bits, st.text(max_size=10)), max_size=60).map("".join), st.text(max_size=500)
)


@FAST
@given(text=svg_text)
def test_svg_inspect_describes_or_refuses_with_a_reason(text):
    try:
        info = inspect(text, max_bytes=64 * 1024, max_depth=50)
    except SvgError as error:
        assert error.kind and error.reason
    else:
        assert isinstance(info.dangers, tuple)


# A drawing built from safe parts with dangerous parts inserted at random places: the inspector
# reports a danger exactly when one was inserted, and names each one (fails with detection off).
SAFE_PARTS = [
    '<path d="M0 0h10v10z" fill="#f00"/>',
    '<rect x="1" y="1" width="8" height="8" rx="1" style="fill:url(#g);stroke-width:2"/>',
    '<circle cx="5" cy="5" r="4" clip-path="url(#c)"/>',
    '<linearGradient id="g"><stop offset="0" stop-color="#fff"/></linearGradient>',
    '<clipPath id="c"><rect width="10" height="10"/></clipPath>',
    '<use href="#g"/>',
    "<text x='1' y='9' font-family='Helvetica'>Acme<tspan>!</tspan></text>",
    "<style>.a{fill:url(#g)}</style>",
    "<g opacity='.5'><title>t</title><desc>d</desc></g>",
]
DANGERS = {
    "<script>x()</script>": "<script>",
    '<rect onclick="x()"/>': "onclick",
    '<a href="javascript:x()"><rect/></a>': "javascript:",
    '<use href="data:image/svg+xml,x"/>': "data: URL",
    '<image href="https://evil.example/p.png"/>': "external reference",
    "<style>@import 'x.css';</style>": "@import",
    "<style>.a{background:url(https://evil.example/x)}</style>": "url()",
    "<iframe/>": "<iframe>",
    "<foreignObject/>": "<foreignObject>",
    '<animate attributeName="onbegin"/>': "<animate>",
    '<rect style="width:expression(x())"/>': "expression()",
    '<a href="vbscript:x"/>': "vbscript:",
}

UNICODE_DIGITS = [c for c in map(chr, range(0x110000)) if c.isdigit() and not c.isascii()]


@FAST
@given(
    safe=st.lists(st.sampled_from(SAFE_PARTS), max_size=12),
    dangers=st.lists(st.sampled_from(sorted(DANGERS)), max_size=3, unique=True),
    data=st.data(),
)
def test_svg_inspect_reports_exactly_the_inserted_dangers(safe, dangers, data):
    parts = list(safe)
    for danger in dangers:
        parts.insert(data.draw(st.integers(0, len(parts))), danger)
    wrap = data.draw(st.booleans())
    body = "".join(parts)
    document = (
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 10 10'>{'<g>' + body + '</g>' if wrap else body}</svg>"
    )
    found = inspect(document).dangers
    assert bool(found) == bool(dangers), (document, found)
    for danger in dangers:
        assert any(DANGERS[danger] in d for d in found), (danger, found)


@FAST
@given(
    digits=st.lists(st.sampled_from(UNICODE_DIGITS), min_size=1, max_size=12),
    ascii_prefix=st.text(alphabet="0123456789", max_size=6),
    scheme=st.sampled_from(["stripe", "standard"]),
)
@example(digits=list("¹²³"), ascii_prefix="", scheme="stripe")
def test_a_timestamp_with_any_non_ascii_digit_is_malformed(digits, ascii_prefix, scheme):
    """Every Unicode digit `str.isdigit()` accepts: refused as a malformed header, never a crash."""
    from partner_review.webhooks.signing import HEADER, SW_ID, SW_SIGNATURE, SW_TIMESTAMP, expect

    stamp = ascii_prefix + "".join(digits)
    if scheme == "stripe":
        headers = {HEADER: f"t={stamp},v1={'0' * 64}"}
    else:
        headers = {SW_ID: "msg_1", SW_TIMESTAMP: stamp, SW_SIGNATURE: "v1,AAAA"}
    with pytest.raises(SignatureError, match="unix seconds"):
        expect(headers, "secret", now=NOW)


def test_every_unicode_digit_is_covered():
    assert len(UNICODE_DIGITS) > 700 and "¹" in UNICODE_DIGITS and "١" in UNICODE_DIGITS
