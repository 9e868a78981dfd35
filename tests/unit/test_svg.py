"""tasks.svg: safe SVG analysis, including hostile documents (bounded time and memory)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from partner_review.tasks.catalog import policy
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


def test_fragment_references_and_attributes_starting_with_other_words_are_not_dangers():
    info = inspect(
        f'<svg {NS} xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 10 10">'
        '<a href="#top"><rect opacity="0.5" fill="red" style="fill:url(#g)"/></a>'
        '<use xlink:href="#shape"/><rect fill="url(\'#g\')" clip-path="url(#c)"/></svg>'
    )
    assert info.dangers == ()


def test_a_link_out_of_the_logo_is_flagged():
    info = inspect(f'<svg {NS}><a href="https://acme.example"><rect/></a></svg>')
    assert info.dangers == (
        "external reference 'https://acme.example' in the href attribute of <a> "
        "(only #fragment references of the same file are allowed)",
    )


XLINK = 'xmlns:xlink="http://www.w3.org/1999/xlink"'


@pytest.mark.parametrize(
    ("document", "danger"),
    [
        (f'<svg {NS}><use href="data:image/svg+xml;base64,PHN2Zz4="/></svg>', "data: URL 'data:image/svg"),
        (f'<svg {NS} {XLINK}><use xlink:href="data:image/svg+xml,x"/></svg>', "href attribute of <use>"),
        (f'<svg {NS}><a href="data:text/html,&lt;script&gt;"><rect/></a></svg>', "data: URL 'data:text/html"),
        (f"<svg {NS}><style>.a{{background:url(javascript:alert(1))}}</style></svg>", "url() of 'javascript:"),
        (f"<svg {NS}><style>@import 'https://evil.example/x.css';</style></svg>", "@import in <style>"),
        (f"<svg {NS}><style><![CDATA[@im\\70ort 'x.css';]]></style></svg>", "@import in <style>"),
        (f"<svg {NS}><style>.a{{width:expression(alert(1))}}</style></svg>", "expression() in <style>"),
        (f"<svg {NS}><style>.a{{fill:url(https://evil.example/p.svg#x)}}</style></svg>", "url() of 'https://"),
        (
            f'<?xml-stylesheet href="https://evil.example/x.css"?><svg {NS}/>',
            "processing instruction <?xml-stylesheet?>",
        ),
        (f'<?xml-stylesheet type="text/xsl" href="x.xsl"?><svg {NS}/>', "(an XSLT stylesheet)"),
        (
            f'<svg {NS} xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="/etc/passwd"/></svg>',
            "XInclude <include> element",
        ),
        (f'<svg {NS}><iframe src="https://evil.example"/></svg>', "<iframe> element"),
        (f'<svg {NS}><embed src="x.swf"/></svg>', "<embed> element"),
        (f'<svg {NS}><object data="x.html"/></svg>', "<object> element"),
        (f'<svg {NS}><image href="https://evil.example/track.png"/></svg>', "href attribute of <image>"),
        (f'<svg {NS} {XLINK}><use xlink:href="https://evil.example/s.svg#a"/></svg>', "external reference"),
        (f'<svg {NS}><image href="data:image/svg+xml,&lt;svg/&gt;"/></svg>', "data: URL"),
        (f'<svg {NS}><a href="vbscript:msgbox(1)"><rect/></a></svg>', "vbscript: URL in the href attribute of <a>"),
        (f'<svg {NS}><rect fill="vbscript:x"/></svg>', "vbscript: URL in the fill attribute of <rect>"),
        (f'<svg {NS}><animate attributeName="onbegin" to="alert(1)"/></svg>', "animates the 'onbegin' attribute"),
        (f'<svg {NS}><animate attributeName="onbegin" to="alert(1)"/></svg>', "<animate> element"),
        (
            f'<svg {NS}><rect style="width:expression(alert(1))"/></svg>',
            "expression() in the style attribute of <rect>",
        ),
        (f'<svg {NS}><html:script xmlns:html="http://www.w3.org/1999/xhtml"/></svg>', "in the XHTML namespace"),
        (f"<svg {NS}><blink/></svg>", "<blink> element (not in the static SVG subset)"),
        (f'<svg {NS}><rect formaction="x"/></svg>', "formaction attribute on <rect>"),
        (f'<svg {NS}><g xml:base="javascript:/"/></svg>', "xml:base attribute on <g>"),
        (f'<svg {NS}><x:y xmlns:x="urn:unknown"/></svg>', "element in the unknown namespace 'urn:unknown'"),
    ],
)
def test_content_outside_the_static_subset_is_flagged_by_name(document, danger):
    dangers = inspect(document).dangers
    assert any(danger in d for d in dangers), dangers


def test_embedded_raster_images_and_editor_metadata_are_accepted():
    inkscape = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" '
        'xmlns:sodipodi="http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd" '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:cc="http://creativecommons.org/ns#" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" width="64mm" height="64mm" viewBox="0 0 64 64" '
        'version="1.1" id="svg8" inkscape:version="1.3 (0e150ed6c4, 2023-07-21)" sodipodi:docname="mark.svg">'
        '<sodipodi:namedview id="base" pagecolor="#ffffff" inkscape:zoom="1.4"/>'
        "<metadata><rdf:RDF><cc:Work rdf:about=''><dc:format>image/svg+xml</dc:format></cc:Work></rdf:RDF></metadata>"
        '<g inkscape:label="Layer 1" inkscape:groupmode="layer" id="layer1">'
        '<image width="8" height="8" xlink:href="data:image/png;base64,iVBORw0KGgo=" preserveAspectRatio="none"/>'
        '<path style="fill:#ff0000;stroke-width:0.26" d="M 0,0 H 64 V 64 Z" id="path1" '
        'sodipodi:nodetypes="ccc"/></g></svg>'
    )
    illustrator = (
        '<?xml version="1.0" encoding="utf-8"?>\n<!-- Generator: Adobe Illustrator 27.0.0, SVG Export Plug-In -->\n'
        '<svg version="1.1" id="Layer_1" xmlns="http://www.w3.org/2000/svg" '
        'xmlns:xlink="http://www.w3.org/1999/xlink" x="0px" y="0px" viewBox="0 0 240 60" '
        'style="enable-background:new 0 0 240 60;" xml:space="preserve">'
        "<style type=\"text/css\">.st0{fill:url(#SVGID_1_);} .st1{font-family:'Helvetica'; font-size:24px;}</style>"
        '<linearGradient id="SVGID_1_" gradientUnits="userSpaceOnUse" x1="0" y1="0" x2="60" y2="60">'
        '<stop offset="0" style="stop-color:#1D4ED8"/><stop offset="1" style="stop-color:#60A5FA"/></linearGradient>'
        '<circle class="st0" cx="30" cy="30" r="28"/><text transform="matrix(1 0 0 1 70 38)" class="st1">Acme</text>'
        '<filter id="s"><feGaussianBlur stdDeviation="2" in="SourceAlpha"/><feOffset dx="1" dy="1" result="o"/>'
        '<feMerge><feMergeNode in="o"/><feMergeNode in="SourceGraphic"/></feMerge></filter>'
        '<clipPath id="c"><rect width="240" height="60" rx="4"/></clipPath><mask id="m"><rect fill="#fff"/></mask>'
        '<g clip-path="url(#c)" mask="url(#m)" filter="url(#s)" data-name="Group 1" aria-hidden="true">'
        '<polygon points="1,1 2,2 3,1"/></g></svg>'
    )
    assert inspect(inkscape).dangers == ()
    assert inspect(illustrator).dangers == ()


ICONS = Path(__file__).resolve().parents[1] / "fixtures" / "icons"


@pytest.mark.parametrize("icon", sorted(ICONS.glob("*.svg")), ids=lambda p: p.stem)
def test_real_brand_icons_pass_the_allow_list(icon):
    info = inspect(icon.read_text(encoding="utf-8"))
    assert info.dangers == ()
    assert info.aspect == 1


def test_the_real_icon_fixtures_are_there():
    assert len(list(ICONS.glob("*.svg"))) >= 5


def test_dangers_are_listed_once_and_bounded():
    info = inspect(f"<svg {NS}>" + "<script/>" * 50 + "".join(f'<g on{i}="x"/>' for i in range(50)) + "</svg>")
    assert info.dangers.count("<script> element") == 1
    assert len(info.dangers) <= 10


# -- hostile XML ------------------------------------------------------------------------------------


def test_billion_laughs_is_refused():  # its time is measured by bench/svg.py
    error = refusal(BILLION_LAUGHS)
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
    error = refusal(huge)
    assert error.kind == "too_large"
    assert "1048576 bytes" in error.reason


def test_size_is_counted_in_bytes_not_characters():
    text = f"<svg {NS}><text>{'é' * 700}</text></svg>"  # about 760 characters, 1460 bytes
    assert len(text) < 1024
    assert refusal(text, max_bytes=1024).kind == "too_large"


def test_deep_nesting_is_refused():
    deep = f"<svg {NS}>" + "<g>" * 150_000 + "</g>" * 150_000 + "</svg>"
    error = refusal(deep, max_bytes=2 * 1024 * 1024)
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


def test_a_megabyte_of_elements_is_analysed():  # its time is measured by bench/svg.py
    wide = f'<svg {NS} viewBox="0 0 10 10">' + "<g/>" * 260_000 + "</svg>"
    assert len(wide) > 1_000_000
    assert inspect(wide, max_bytes=2 * 1024 * 1024).dangers == ()


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


css_bits = st.sampled_from(
    ["url(", ")", "'", '"', "#a", "\\", "\\75", "/*", "*/", "@import", "expression(", "javascript:", " "]
)


@settings(max_examples=200, deadline=None)
@given(css=st.lists(st.one_of(css_bits, st.text(max_size=8)), max_size=40).map("".join))
def test_css_and_reference_checks_never_raise_and_name_what_they_find(css):
    problems = policy.css_problems(css)
    assert all(isinstance(p, str) and p for p in problems)
    policy.reference_problem("use", css)
    if "@import" in css.lower() and "\\" not in css and "/*" not in css:
        assert "@import" in problems
