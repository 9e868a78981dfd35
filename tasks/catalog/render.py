"""The App tile as customers see it in the catalog, rendered to PNG, and the checks that need it.

The partner's inline logo and mark are rasterised with resvg (a Rust SVG renderer shipped as a
wheel, `resvg-py`: no browser, no system library) after `svg.inspect` found them safe and a scan
found no reference outside the SVG (resvg would read local files). Pillow lays out the tile with
its bundled font and measures the pixels: something is drawn, it stands out on light and dark
backgrounds, and the mark's drawing fills its square. A renderer that fails gives a finding.

`render_tile` renders once (the `Rendering`: what was drawn, what could not be, what was not
rendered and why); the checks CAT-031..033 are objects (`Check[Rendering]`) judging it, run by
`tasks/runner.py:run_objects`.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import re
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as safe_xml

from partner_review.models.checks import Check, Result, declare
from partner_review.models.settings import Settings, given_or_current
from partner_review.models.submission import Submission
from partner_review.tasks.catalog import svg
from partner_review.tasks.runner import Scope, run_objects

LIGHT = (255, 255, 255)
DARK = (24, 26, 32)
MARK_SIZES = (16, 32, 64)  # where the catalog shows the mark: lists, cards, the app's page
LOGO_HEIGHT = 40
ANALYSIS_SIZE = 128
MIN_CONTRAST = 3.0  # WCAG 2.1 SC 1.4.11, non-text contrast
MIN_FILL = 0.6
MIN_DRAWN = 0.002  # share of the canvas
_ALPHA_DRAWN = 32
_REFERENCE = re.compile(r"url\(\s*['\"]?\s*(?!#)|@import", re.IGNORECASE)


class RenderError(Exception):
    """The renderer could not draw this SVG (or is missing)."""


@dataclass
class Drawing:
    """One rasterised SVG (RGBA, Pillow image) and what its pixels show."""

    image: Any
    drawn: float
    bbox: tuple[int, int, int, int] | None
    contrast: dict[str, float] = field(default_factory=dict)


@dataclass
class Tile:
    """The tile's PNG (None when nothing could be rendered) and the checks' results."""

    png: bytes | None
    results: list[Result]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Rendering:
    """The subject of CAT-031..033: the inline logo and mark rasterised and measured (`drawings`, by
    kind), those the renderer failed on or refused (`problems`), those not rendered and why (`skipped`)."""

    drawings: dict[str, Drawing] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def external_reference(svg_text: str) -> str | None:
    """The first reference outside the SVG (href to anything but `#id` or a data: URL, CSS url() or
    @import), or None. Only called on text `svg.inspect` accepted (no DTD, bounded size and depth)."""
    for _, element in safe_xml.iterparse(io.BytesIO(svg_text.encode("utf-8")), events=("start",)):
        for name, value in element.attrib.items():
            local = name.rsplit("}", 1)[-1].lower()
            stripped = value.strip().lower()
            if local == "href" and not (stripped.startswith("#") or stripped.startswith("data:")):
                return f"{local}={value[:80]!r} on <{element.tag.rsplit('}', 1)[-1][:40]}>"
            if _REFERENCE.search(value):
                return f"{local}={value[:80]!r}"
        if element.text and element.tag.rsplit("}", 1)[-1].lower() == "style" and _REFERENCE.search(element.text):
            return "a <style> element with url() or @import"
    return None


@functools.cache
def _fallback_fonts() -> dict[str, Any]:
    """resvg's font options: the system's fonts where the SVG names one that is installed, and
    Pillow's bundled font (Aileron) for every generic family and for a family this machine lacks.
    resvg's own default family is Times New Roman: on a machine without it, text drew nothing and
    a text logo failed CAT-031."""
    from PIL import ImageFont

    data: bytes = ImageFont.load_default(size=12).font_bytes  # type: ignore[union-attr]
    path = Path(tempfile.gettempdir()) / f"partner-review-{hashlib.sha256(data).hexdigest()[:12]}.ttf"
    if not path.exists():
        partial = path.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(data)
        partial.replace(path)  # atomic: another process may be writing the same file
    family = ImageFont.load_default(size=12).getname()[0]  # type: ignore[union-attr]
    generics = ("font_family", "serif_family", "sans_serif_family", "cursive_family", "fantasy_family")
    return {"font_files": [str(path)], **dict.fromkeys(generics, family), "monospace_family": family}


def rasterise(svg_text: str, *, width: int | None = None, height: int | None = None) -> Any:
    """The SVG as a Pillow RGBA image fitted into width × height (aspect kept)."""
    try:
        import resvg_py
        from PIL import Image
    except ImportError as error:  # pragma: no cover - both are dependencies
        raise RenderError(f"the SVG renderer is not installed ({error.name})") from None
    try:
        png = resvg_py.svg_to_bytes(svg_string=svg_text, width=width, height=height, **_fallback_fonts())
        image = Image.open(io.BytesIO(bytes(png)))
        image.load()
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except BaseException as error:  # ValueError, OSError, and resvg's Rust panics (a BaseException): findings
        raise RenderError(f"the renderer could not draw it ({str(error)[:200] or type(error).__name__})") from None
    return image.convert("RGBA")


def luminance(rgb: tuple[float, float, float]) -> float:
    """WCAG relative luminance of an sRGB colour (0-255 channels)."""

    def linear(channel: float) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = rgb
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)


def contrast_ratio(a: float, b: float) -> float:
    high, low = max(a, b), min(a, b)
    return (high + 0.05) / (low + 0.05)


def analyse(image: Any) -> Drawing:
    """How much of the canvas is drawn, where, and how it stands out on LIGHT and DARK: the contrast
    the most contrasting tenth of the drawn pixels reaches (a coloured symbol on a white badge is
    legible by its colour, not by its badge)."""
    alpha = image.getchannel("A")
    mask = alpha.point(lambda a: 255 if a >= _ALPHA_DRAWN else 0)
    histogram = mask.histogram()
    drawn = histogram[255] / max(image.width * image.height, 1)
    bbox = mask.getbbox()
    result = Drawing(image=image, drawn=drawn, bbox=bbox)
    if not bbox:
        return result
    small = image.copy()
    small.thumbnail((96, 96))
    raw = small.tobytes()  # RGBA, four bytes a pixel
    every = [tuple(raw[i : i + 4]) for i in range(0, len(raw), 4)]
    pixels = [p for p in every if p[3] >= 128] or [p for p in every if p[3] >= _ALPHA_DRAWN]
    for name, background in (("light", LIGHT), ("dark", DARK)):
        base = luminance(background)
        ratios = sorted(contrast_ratio(luminance(_over(p, background)), base) for p in pixels)
        result.contrast[name] = round(ratios[int(len(ratios) * 0.9)] if ratios else 1.0, 2)
    return result


def _over(pixel: tuple[int, ...], background: tuple[int, int, int]) -> tuple[float, float, float]:
    """An RGBA pixel composited over an opaque background."""
    a = pixel[3] / 255
    r, g, b = (c * a + bg * (1 - a) for c, bg in zip(pixel[:3], background))
    return (r, g, b)


def _inline(kind: str, text: str | None, settings: Settings) -> tuple[str | None, str | None]:
    """(svg text to render, or None with the reason it is not rendered)."""
    if text is None:
        return None, f"app.{kind}_svg is not given inline (a URL is fetched by the links stage, not rendered)"
    try:
        info = svg.inspect(text, max_bytes=settings.svg_max_bytes, max_depth=settings.svg_max_depth)
    except svg.SvgError as error:
        return None, f"app.{kind}_svg is refused ({error.reason}; see CAT-007/CAT-008)"
    if info.dangers:
        return None, f"app.{kind}_svg has active content (see CAT-009), so it is not rendered"
    try:
        reference = external_reference(text)
    except Exception as error:  # inspect parsed it; this is belt and braces
        return None, f"app.{kind}_svg could not be scanned ({type(error).__name__})"
    if reference:
        return text, f"refers outside itself ({reference}); the catalog shows self-contained SVGs only"
    return text, None


def rendering(submission: Submission, settings: Settings) -> Rendering:
    """The inline logo and mark rendered and measured (CPU work: the stage runs it in a worker)."""
    app = submission.app
    drawings: dict[str, Drawing] = {}
    problems: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for kind, text in (("logo", app.logo_svg), ("mark", app.mark_svg)):
        source, reason = _inline(kind, text, settings)
        if source is None:
            skipped[kind] = reason or ""
            continue
        if reason:
            problems[kind] = f"app.{kind}_svg {reason}"
            continue
        try:
            size = {"width": ANALYSIS_SIZE, "height": ANALYSIS_SIZE} if kind == "mark" else {"height": ANALYSIS_SIZE}
            drawings[kind] = analyse(rasterise(source, **size))
        except RenderError as error:
            problems[kind] = f"app.{kind}_svg: {error}"
    return Rendering(drawings, problems, skipped)


def render_tile(submission: Submission, settings: Settings | None = None) -> Tile:
    """Render the tile and run CAT-031..033. Never raises for anything in the submission."""
    settings = given_or_current(settings)
    rendered = rendering(submission, settings)
    results = run_objects(CHECKS, rendered, None, Scope.of(submission))
    try:
        png = compose(submission, rendered.drawings)
    except Exception as error:  # the layout must never take the review down; the checks above stand
        return Tile(None, results, [f"the tile could not be laid out ({type(error).__name__}: {str(error)[:200]})"])
    return Tile(png, results)


def verify_rendering(submission: Submission, settings: Settings | None = None) -> list[Result]:
    """The catalog stage's rendering checks."""
    return render_tile(submission, settings).results


# -- checks ---------------------------------------------------------------------------------------


class LogoMarkDraw(Check[Rendering]):
    def run(self, subject: Rendering, ctx: object = None) -> Result:
        drawings, problems, skipped = subject.drawings, subject.problems, subject.skipped
        if not drawings and not problems:
            return self.skipped("; ".join(skipped.values()) or "no inline logo or mark")
        if problems:
            return self.errored(
                "could not render: " + "; ".join(problems.values()), fields=[f"app.{k}_svg" for k in problems]
            )
        blank = {k: d for k, d in drawings.items() if d.drawn < MIN_DRAWN}
        evidence = {f"{k}_drawn_share": round(d.drawn, 4) for k, d in drawings.items()}
        if blank:
            return self.failed(
                " and ".join(f"app.{k}_svg" for k in blank) + " draws nothing visible (blank or fully transparent)",
                field=", ".join(f"app.{k}_svg" for k in blank),
                **evidence,
            )
        return self.passed(f"{' and '.join(f'app.{k}_svg' for k in drawings)} render visibly", **evidence)


LOGO_MARK_DRAW = declare(
    LogoMarkDraw(
        "CAT-031",
        "Logo and mark draw something",
        stage="catalog",
        severity="blocker",
        remedy="Export the logo and mark with visible shapes (filled paths, not an empty or fully transparent canvas).",
    )
)


class Legible(Check[Rendering]):
    def run(self, subject: Rendering, ctx: object = None) -> Result:
        measured = {k: d for k, d in subject.drawings.items() if d.contrast}
        if not measured:
            reasons = list(subject.problems.values()) + list(subject.skipped.values())
            return self.skipped("nothing drawn to measure (" + ("; ".join(reasons) or f"see {LOGO_MARK_DRAW.id}") + ")")
        evidence = {f"{k}_contrast_on_{bg}": ratio for k, d in measured.items() for bg, ratio in d.contrast.items()}
        weak = [
            f"app.{k}_svg on a {bg} background ({ratio:g}:1)"
            for k, d in measured.items()
            for bg, ratio in d.contrast.items()
            if ratio < MIN_CONTRAST
        ]
        if weak:
            return self.failed(
                f"hard to see at catalog size, contrast below {MIN_CONTRAST:g}:1: " + "; ".join(weak), **evidence
            )
        return self.passed(f"contrast at least {MIN_CONTRAST:g}:1 on light and dark backgrounds", **evidence)


LEGIBLE = declare(
    Legible(
        "CAT-032",
        "Logo and mark are legible on light and dark backgrounds",
        stage="catalog",
        severity="warning",
        remedy="Give the drawing a colour that contrasts at least 3:1 with both white and dark backgrounds, "
        "or an outline or badge behind it.",
    )
)


class MarkFills(Check[Rendering]):
    def run(self, subject: Rendering, ctx: object = None) -> Result:
        mark = subject.drawings.get("mark")
        if mark is None:
            return self.skipped(subject.skipped.get("mark") or f"the mark was not rendered (see {LOGO_MARK_DRAW.id})")
        if not mark.bbox:
            return self.skipped(f"the mark draws nothing (see {LOGO_MARK_DRAW.id})")
        left, top, right, bottom = mark.bbox
        fill = max(right - left, bottom - top) / max(mark.image.width, mark.image.height)
        evidence = {"field": "app.mark_svg", "fill": round(fill, 3), "drawing_box_px": [left, top, right, bottom]}
        if fill < MIN_FILL:
            return self.failed(
                f"the mark's drawing spans {fill:.0%} of its square (at least {MIN_FILL:.0%} expected)", **evidence
            )
        return self.passed(f"the mark's drawing spans {fill:.0%} of its square", **evidence)


MARK_FILLS = declare(
    MarkFills(
        "CAT-033",
        "Mark's drawing fills its square",
        stage="catalog",
        severity="warning",
        remedy="Crop the mark's viewBox to the symbol, so it fills most of the square at small sizes.",
    )
)

CHECKS: tuple[Check[Rendering], ...] = (LOGO_MARK_DRAW, LEGIBLE, MARK_FILLS)


# -- the tile ---------------------------------------------------------------------------------------


def _font(size: int) -> Any:
    from PIL import ImageFont

    return ImageFont.load_default(size=size)  # Pillow's bundled font: the same tile on every machine


def _fitted(drawing: Drawing, *, height: int, width: int | None = None) -> Any:
    image = drawing.image.copy()
    image.thumbnail((width or 10 * height, height))
    return image


def compose(submission: Submission, drawings: dict[str, Drawing]) -> bytes:
    """The tile: mark, name, categories, description and logo on a light card, then the mark at
    catalog sizes and the logo on light and dark strips. PNG bytes."""
    from PIL import Image, ImageDraw

    from partner_review.tasks.catalog.fields import description_text

    app = submission.app
    width, pad = 720, 24
    card_h, strip_h = 260, 96
    tile = Image.new("RGB", (width, card_h + 2 * strip_h), LIGHT)
    draw = ImageDraw.Draw(tile)
    draw.rectangle((0, 0, width - 1, card_h - 1), outline=(210, 212, 218))

    mark, logo = drawings.get("mark"), drawings.get("logo")
    x = pad
    if mark:
        tile.paste(icon := _fitted(mark, height=64, width=64), (pad, pad), icon)
        x = pad + 64 + 16
    else:
        draw.rectangle((pad, pad, pad + 63, pad + 63), outline=(200, 60, 60))
        draw.text((pad + 8, pad + 24), "no mark", fill=(200, 60, 60), font=_font(12))
        x = pad + 64 + 16
    draw.text((x, pad + 2), (app.name or "(no name)")[:60], fill=(20, 22, 28), font=_font(26))
    categories = " · ".join(c for c in (app.categories.primary, app.categories.secondary) if c) or "(no category)"
    draw.text((x, pad + 38), categories[:90], fill=(82, 96, 255), font=_font(15))
    text, _ = description_text(app.description or "")
    lines = textwrap.wrap(text or "(no description)", width=88)[:5]
    draw.multiline_text((pad, pad + 84), "\n".join(lines), fill=(60, 64, 72), font=_font(15), spacing=6)
    if logo:
        image = _fitted(logo, height=LOGO_HEIGHT, width=width - 2 * pad)
        tile.paste(image, (pad, card_h - pad - LOGO_HEIGHT), image)
    else:
        draw.text((pad, card_h - pad - 20), "(logo not rendered)", fill=(200, 60, 60), font=_font(14))

    for row, background in enumerate((LIGHT, DARK)):
        top = card_h + row * strip_h
        draw.rectangle((0, top, width, top + strip_h), fill=background)
        label = (120, 124, 132) if background == LIGHT else (170, 174, 182)
        draw.text((pad, top + 6), "light" if background == LIGHT else "dark", fill=label, font=_font(11))
        left = pad
        for size in MARK_SIZES:
            if mark:
                icon = _fitted(mark, height=size, width=size)
                tile.paste(icon, (left, top + 24 + (64 - size) // 2), icon)
            left += size + 16
        if logo:
            image = _fitted(logo, height=LOGO_HEIGHT, width=width - left - pad)
            tile.paste(image, (left + 16, top + 24 + (64 - LOGO_HEIGHT) // 2), image)

    out = io.BytesIO()
    tile.quantize(colors=128).save(out, format="PNG", optimize=True)
    return out.getvalue()
