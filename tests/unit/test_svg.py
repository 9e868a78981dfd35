"""tasks.svg: safe SVG analysis, including hostile documents (bounded time and memory)."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from partner_review.tasks.catalog.svg import SvgError, inspect

NS = 'xmlns="http://www.w3.org/2000/svg"'

BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE svg [\n<!ENTITY lol "lol">\n'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10))
    + f"]>\n<svg {NS}><text>&lol9;</text></svg>"
)
EXTERNAL_ENTITY = (
    f'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><svg {NS}><text>&xxe;</text></svg>'
)
REMOTE_DTD = (
    '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
    '"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">'
    f'<svg {NS} viewBox="0 0 10 10"/>'
)


def refusal(svg_text: str, **limits) -> SvgError:
    with pytest.raises(SvgError) as caught:
        inspect(svg_text, **limits)
    return caught.value


# -- shape -----------------------------------------------------------------------------------------


def test_viewbox_gives_size_and_aspect():
    info = inspect(f'<svg {NS} viewBox="0 0 240 60"><rect width="10" height="10"/></svg>')
    assert info.view_box == (0, 0, 240, 60)
    assert info.aspect == 4
    assert info.size_source == "viewBox"
    assert info.namespaced
    assert info.dangers == ()


def test_viewbox_accepts_commas_and_wins_over_width_and_height():
    info = inspect(f'<svg {NS} width="100" height="50" viewBox="0,0,64,64"/>')
    assert info.view_box == (0, 0, 64, 64)
    assert info.aspect == 1
    assert (info.width, info.height) == (100, 50)


def test_width_and_height_with_units_give_the_aspect_without_viewbox():
    info = inspect(f'<svg {NS} width="2in" height="192px"/>')
    assert info.size_source == "width/height"
    assert info.aspect == pytest.approx(1.0)


@pytest.mark.parametrize(
    "attributes",
    [
        'width="100%" height="100%"',
        'viewBox="0 0 0 10"',
        'viewBox="0 0 ten 10"',
        'viewBox="0 0 10"',
        'width="-5" height="5"',
        'width="1e999" height="1"',
    ],
)
def test_unusable_sizes_give_no_aspect(attributes):
    info = inspect(f"<svg {NS} {attributes}/>")
    assert info.aspect is None
    assert info.size_source is None


def test_visible_text_is_collected_but_not_titles():
    info = inspect(
        f"<svg {NS}><title>Acme logo</title><text>Acme <tspan>Ana</tspan>lytics</text><g><text>Inc</text></g></svg>"
    )
    assert info.text == "Acme Analytics Inc"


# -- active content ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "danger"),
    [
        ("<script>alert(1)</script>", "<script> element"),
        (
            '<script xlink:href="https://evil.example/x.js" xmlns:xlink="http://www.w3.org/1999/xlink"/>',
            "<script> element",
        ),
        ("<foreignObject><div>hi</div></foreignObject>", "<foreignObject> element"),
        ('<rect onclick="steal()"/>', "onclick event-handler attribute on <rect>"),
        ('<rect ONMOUSEOVER="steal()"/>', "ONMOUSEOVER event-handler attribute on <rect>"),
        ('<a href="javascript:alert(1)"><rect/></a>', "javascript: URL in the href attribute of <a>"),
        (
            '<a xmlns:xlink="http://www.w3.org/1999/xlink" xlink:href=" Java&#9;Script:alert(1)"/>',
            "javascript: URL in the href attribute of <a>",
        ),
        ('<set attributeName="href" to="javascript:alert(1)"/>', "javascript: URL in the to attribute of <set>"),
    ],
)
def test_active_content_is_reported(body, danger):
    info = inspect(f'<svg {NS} viewBox="0 0 10 10">{body}</svg>')
    assert danger in info.dangers


def test_onload_on_the_root_is_reported():
    assert inspect(f'<svg {NS} onload="x()"/>').dangers == ("onload event-handler attribute on <svg>",)


def test_plain_links_and_attributes_starting_with_other_words_are_not_dangers():
    info = inspect(
        f'<svg {NS} xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 10 10">'
        '<a href="https://acme.example"><rect opacity="0.5" fill="red"/></a>'
        '<use xlink:href="#shape"/></svg>'
    )
    assert info.dangers == ()


def test_dangers_are_listed_once_and_bounded():
    info = inspect(f"<svg {NS}>" + "<script/>" * 50 + "".join(f'<g on{i}="x"/>' for i in range(50)) + "</svg>")
    assert info.dangers.count("<script> element") == 1
    assert len(info.dangers) <= 10


# -- hostile XML ------------------------------------------------------------------------------------


def test_billion_laughs_is_refused_quickly():
    started = time.perf_counter()
    error = refusal(BILLION_LAUGHS)
    assert time.perf_counter() - started < 0.5
    assert error.kind == "dtd"
    assert "entities" in error.reason


def test_external_entity_is_refused():
    error = refusal(EXTERNAL_ENTITY)
    assert error.kind == "dtd"
    assert "external XML entity" in error.reason


def test_remote_dtd_is_refused_naming_it():
    error = refusal(REMOTE_DTD)
    assert error.kind == "dtd"
    assert "svg11.dtd" in error.reason


def test_fifty_megabytes_are_refused_by_size_before_parsing():
    huge = f"<svg {NS}>" + "<g/>" * (50 * 1024 * 1024 // 4) + "</svg>"
    started = time.perf_counter()
    error = refusal(huge)
    assert time.perf_counter() - started < 0.1
    assert error.kind == "too_large"
    assert "1048576 bytes" in error.reason


def test_size_is_counted_in_bytes_not_characters():
    text = f"<svg {NS}><text>{'é' * 700}</text></svg>"  # about 760 characters, 1460 bytes
    assert len(text) < 1024
    assert refusal(text, max_bytes=1024).kind == "too_large"


def test_deep_nesting_is_refused_in_bounded_time():
    deep = f"<svg {NS}>" + "<g>" * 150_000 + "</g>" * 150_000 + "</svg>"
    started = time.perf_counter()
    error = refusal(deep, max_bytes=2 * 1024 * 1024)
    assert time.perf_counter() - started < 0.5
    assert error.kind == "too_deep"
    assert "100 levels" in error.reason


def test_nesting_within_the_limit_is_accepted():
    nested = f"<svg {NS}>" + "<g>" * 98 + "</g>" * 98 + "</svg>"
    assert inspect(nested).dangers == ()
    assert refusal(nested, max_depth=50).kind == "too_deep"


def test_many_elements_are_analysed_without_building_a_tree():
    wide = f'<svg {NS} viewBox="0 0 10 10">' + "<g/>" * 50_000 + "</svg>"  # 200 kB
    tracemalloc.start()
    try:
        info = inspect(wide)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.aspect == 1
    assert peak < 1024 * 1024  # an element tree of this document alone takes about 4 MB


def test_a_megabyte_of_elements_is_analysed_in_bounded_time():
    wide = f'<svg {NS} viewBox="0 0 10 10">' + "<g/>" * 260_000 + "</svg>"
    assert len(wide) > 1_000_000
    started = time.perf_counter()
    inspect(wide, max_bytes=2 * 1024 * 1024)
    assert time.perf_counter() - started < 3


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("<svg", "malformed"),
        (f"<svg {NS}/><svg {NS}/>", "malformed"),
        ("not xml at all", "malformed"),
        ('<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>', "not_svg"),
    ],
)
def test_documents_that_are_not_svg_are_refused(text, kind):
    assert refusal(text).kind == kind


def test_svg_without_namespace_is_parsed_but_marked():
    assert inspect('<svg viewBox="0 0 1 1"/>').namespaced is False
