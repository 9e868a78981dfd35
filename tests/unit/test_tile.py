"""The catalog tile: rendered with resvg, measured, and never a crash."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from partner_review.models.submission import parse_submission
from partner_review.tasks.catalog import render
from tests.conftest import EXAMPLES, ROOT

NS = 'xmlns="http://www.w3.org/2000/svg"'


def tile_of(**app):
    data = json.loads((EXAMPLES / "submission.json").read_text())
    data["app"].update(app)
    return render.render_tile(parse_submission(data))


def outcomes(tile) -> dict[str, str]:
    return {r.check: r.outcome for r in tile.results}


def test_the_example_renders_to_a_png_tile_with_logo_mark_and_text():
    tile = tile_of()
    image = Image.open(io.BytesIO(tile.png))
    assert image.format == "PNG" and image.size == (720, 452)
    assert outcomes(tile) == {"CAT-031": "pass", "CAT-032": "warn", "CAT-033": "pass"}
    legible = next(r for r in tile.results if r.check == "CAT-032")
    assert "app.mark_svg on a dark background" in legible.message  # a black circle on the dark strip
    assert legible.evidence["mark_contrast_on_light"] == 21.0


@pytest.mark.parametrize("family", [None, "Times New Roman", "NoSuchFamily, sans-serif", "monospace"])
def test_a_text_logo_draws_in_any_family_on_any_machine(family):
    """resvg's default family is Times New Roman; on a machine without it (no fonts but DejaVu, as
    here) a text logo drew nothing and failed CAT-031. Pillow's bundled font is the fallback."""
    font = f" font-family='{family}'" if family else ""
    tile = tile_of(logo_svg=f"<svg {NS} viewBox='0 0 240 60'><text x='10' y='40'{font}>Acme Analytics</text></svg>")
    assert outcomes(tile)["CAT-031"] == "pass", tile.results[0].message


@pytest.mark.parametrize(
    "mark",
    [
        f"<svg {NS} viewBox='0 0 64 64'></svg>",
        f"<svg {NS} viewBox='0 0 64 64'><circle cx='32' cy='32' r='30' fill-opacity='0'/></svg>",
        f"<svg {NS} viewBox='0 0 64 64'><circle cx='32' cy='32' r='30' fill='none'/></svg>",
    ],
    ids=["empty", "transparent", "unfilled"],
)
def test_a_blank_mark_fails_the_blocker(mark):
    tile = tile_of(mark_svg=mark)
    assert outcomes(tile)["CAT-031"] == "fail"
    assert "app.mark_svg draws nothing visible" in tile.results[0].message
    assert outcomes(tile)["CAT-033"] == "skip" and tile.png


def test_a_tiny_symbol_on_a_large_canvas_does_not_fill_its_square():
    tile = tile_of(mark_svg=f"<svg {NS} viewBox='0 0 64 64'><circle cx='32' cy='32' r='6' fill='#4050ff'/></svg>")
    fills = next(r for r in tile.results if r.check == "CAT-033")
    assert fills.outcome == "warn" and fills.evidence["fill"] < 0.3


def test_a_white_mark_is_illegible_on_light_but_a_coloured_one_reads_on_both():
    white = tile_of(mark_svg=f"<svg {NS} viewBox='0 0 64 64'><rect width='64' height='64' fill='#fff'/></svg>")
    found = next(r for r in white.results if r.check == "CAT-032")
    assert found.outcome == "warn" and "app.mark_svg on a light background" in found.message
    coloured = f"<svg {NS} viewBox='0 0 64 64'><rect width='64' height='64' fill='#d9480f'/></svg>"
    logo = f"<svg {NS} viewBox='0 0 200 50'><rect width='200' height='50' fill='#d9480f'/></svg>"
    assert outcomes(tile_of(mark_svg=coloured, logo_svg=logo))["CAT-032"] == "pass"


def test_an_svg_pointing_at_a_local_file_is_not_rendered(tmp_path):
    secret = tmp_path / "secret.png"
    Image.new("RGB", (64, 64), (255, 0, 0)).save(secret)
    mark = f"<svg {NS} xmlns:xlink='http://www.w3.org/1999/xlink' viewBox='0 0 64 64'><image xlink:href='{secret}' width='64' height='64'/></svg>"
    tile = tile_of(mark_svg=mark)
    # The allow-list (CAT-009) refuses the external reference first, so the mark is never drawn.
    fills = next(r for r in tile.results if r.check == "CAT-033")
    assert fills.outcome == "skip" and "not rendered" in fills.message
    pixels = Image.open(io.BytesIO(tile.png)).convert("RGB")
    assert (255, 0, 0) not in {pixels.getpixel((x, y)) for x in range(24, 88) for y in range(24, 88)}


def test_a_url_only_logo_is_skipped_not_fetched():
    tile = tile_of(logo_svg=None, mark_svg=None, logo_url="https://acme.example/logo.svg")
    assert set(outcomes(tile).values()) == {"skip"} and tile.png


def test_a_renderer_failure_is_a_finding(monkeypatch):
    def broken(*_args, **_kwargs):
        raise render.RenderError("the renderer could not draw it (boom)")

    monkeypatch.setattr(render, "rasterise", broken)
    tile = tile_of()
    assert outcomes(tile)["CAT-031"] == "error" and "boom" in tile.results[0].message
    assert tile.png  # the tile still shows the name, categories and description


def test_a_layout_failure_keeps_the_results(monkeypatch):
    monkeypatch.setattr(render, "compose", lambda *_: 1 / 0)
    tile = tile_of()
    assert tile.png is None and "ZeroDivisionError" in tile.notes[0] and outcomes(tile)["CAT-031"] == "pass"


def test_resvg_refusing_an_svg_is_an_error_result():
    tile = tile_of(mark_svg=f"<svg {NS} width='0' height='0'><rect width='5' height='5'/></svg>")
    assert outcomes(tile)["CAT-031"] == "error"


SHAPES = st.sampled_from(
    [
        "<rect x='{a}' y='{b}' width='{c}' height='{d}' fill='{col}'/>",
        "<circle cx='{a}' cy='{b}' r='{c}' fill='{col}' opacity='0.{d}'/>",
        "<path d='M{a} {b} L{c} {d} Z' stroke='{col}' stroke-width='{a}'/>",
        "<text x='{a}' y='{b}' font-size='{c}' fill='{col}'>x\u0663\u202e</text>",
        "<g transform='scale({a}e{d})'><rect width='{c}' height='{b}'/></g>",
        "<filter id='f'><feGaussianBlur stdDeviation='{c}'/></filter><rect width='{a}' height='{b}' filter='url(#f)'/>",
    ]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(SHAPES, st.integers(-(10**6), 10**6), st.integers(0, 99), st.integers(0, 500), st.integers(0, 9)),
        max_size=6,
    ),
    st.sampled_from(["0 0 64 64", "0 0 1e30 1e30", "0 0 0.0001 0.0001", "-5 -5 10 10", "0 0 64"]),
    st.sampled_from(["#000", "#fff", "red", "url(#nope)", "transparent", "#12345"]),
)
def test_hostile_drawings_never_crash(shapes, view_box, colour):
    body = "".join(t.format(a=a, b=b, c=c, d=d, col=colour) for t, a, b, c, d in shapes)
    tile = tile_of(mark_svg=f"<svg {NS} viewBox='{view_box}'>{body}</svg>")
    assert len(tile.results) == 3 and all(r.outcome in ("pass", "warn", "fail", "skip", "error") for r in tile.results)


def test_rendering_imports_no_prefect():
    code = "import sys, partner_review.tasks.catalog.render; assert 'prefect' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_tile_check_objects_judge_a_hand_built_rendering():
    from PIL import Image

    failed = render.Rendering(problems={"mark": "app.mark_svg: the renderer could not draw it (boom)"})
    drawn = render.LOGO_MARK_DRAW.run(failed)
    assert drawn.outcome == "error" and drawn.evidence == {"fields": ["app.mark_svg"]}
    assert render.LEGIBLE.run(failed).message == (
        "Not verified: nothing drawn to measure (app.mark_svg: the renderer could not draw it (boom))"
    )

    image = Image.new("RGBA", (100, 100))
    small = render.Rendering(drawings={"mark": render.Drawing(image=image, drawn=0.1, bbox=(40, 40, 60, 50))})
    fills = render.MARK_FILLS.run(small)
    assert fills.outcome == "warn" and fills.evidence["fill"] == 0.2
    assert render.MARK_FILLS.run(render.Rendering(skipped={"mark": "not inline"})).message == "Not verified: not inline"
