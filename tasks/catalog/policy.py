"""What a catalog SVG may contain: a static subset of SVG, named by allow-list.

Accepted: shapes, paths, text, gradients, patterns, clip paths, masks, markers and filters;
structure (`<g>`, `<defs>`, `<symbol>`, `<use>`); `<title>`, `<desc>`, `<metadata>`; references to a
`#fragment` of the same file (`href`, `url(#id)`); raster images embedded as `data:image/png`,
`jpeg`, `gif` or `webp`; presentation and core attributes; `<style>` and `style=""` without
`url(` (other than `url(#id)`), `@import`, `expression(` or script URLs. Editor metadata from
Inkscape, Illustrator, Sketch, Serif and Figma (their own XML namespaces) is inert and accepted.
Everything else is a danger, named by element or attribute.
"""

from __future__ import annotations

import re

SVG = "http://www.w3.org/2000/svg"
XLINK = "http://www.w3.org/1999/xlink"
XML = "http://www.w3.org/XML/1998/namespace"
XHTML = "http://www.w3.org/1999/xhtml"
XINCLUDE = ("http://www.w3.org/2001/XInclude", "http://www.w3.org/2003/XInclude")

SHAPES = {"path", "rect", "circle", "ellipse", "line", "polyline", "polygon"}
TEXT = {"text", "tspan", "textpath"}
PAINT = {"lineargradient", "radialgradient", "stop", "pattern", "solidcolor"}
CLIPPING = {"clippath", "mask", "marker"}
STRUCTURE = {"svg", "g", "defs", "symbol", "use", "switch", "view", "title", "desc", "metadata", "style", "a", "image"}
FILTERS = {
    "filter",
    "feblend",
    "fecolormatrix",
    "fecomponenttransfer",
    "fecomposite",
    "feconvolvematrix",
    "fediffuselighting",
    "fedisplacementmap",
    "fedistantlight",
    "fedropshadow",
    "feflood",
    "fefunca",
    "fefuncb",
    "fefuncg",
    "fefuncr",
    "fegaussianblur",
    "feimage",
    "femerge",
    "femergenode",
    "femorphology",
    "feoffset",
    "fepointlight",
    "fespecularlighting",
    "fespotlight",
    "fetile",
    "feturbulence",
}
ELEMENTS = SHAPES | TEXT | PAINT | CLIPPING | STRUCTURE | FILTERS

ACTIVE_ELEMENTS = {
    "script": "<script> element",
    "foreignobject": "<foreignObject> element",
    "handler": "<handler> element",
    "listener": "<listener> element",
    "iframe": "<iframe> element",
    "embed": "<embed> element",
    "object": "<object> element",
    "animate": "<animate> element (animation is not static)",
    "animatetransform": "<animateTransform> element (animation is not static)",
    "animatemotion": "<animateMotion> element (animation is not static)",
    "animatecolor": "<animateColor> element (animation is not static)",
    "set": "<set> element (animation is not static)",
    "discard": "<discard> element (animation is not static)",
}

# Attribute local names accepted on SVG elements (no namespace, or xml:/xlink: where noted).
CORE = {"id", "class", "style", "lang", "tabindex", "role", "focusable", "version", "baseprofile", "space"}
GEOMETRY = {
    "x", "y", "z", "width", "height", "rx", "ry", "cx", "cy", "r", "fx", "fy", "fr", "x1", "y1", "x2", "y2",
    "d", "points", "pathlength", "transform", "viewbox", "preserveaspectratio", "dx", "dy", "rotate",
    "textlength", "lengthadjust", "startoffset", "method", "spacing", "side", "offset", "path",
    "gradientunits", "gradienttransform", "spreadmethod", "patternunits", "patterncontentunits",
    "patterntransform", "clippathunits", "maskunits", "maskcontentunits", "markerwidth", "markerheight",
    "markerunits", "refx", "refy", "orient", "filterunits", "primitiveunits", "zoomandpan",
    "requiredfeatures", "requiredextensions", "systemlanguage", "href", "title", "type", "show", "actuate",
    "media", "x-height", "horiz-adv-x",
}  # fmt: skip
FILTER_ATTRIBUTES = {
    "in", "in2", "result", "stddeviation", "edgemode", "mode", "operator", "k1", "k2", "k3", "k4",
    "values", "tablevalues", "slope", "intercept", "amplitude", "exponent", "scale", "xchannelselector",
    "ychannelselector", "radius", "order", "kernelmatrix", "divisor", "bias", "targetx", "targety",
    "preservealpha", "kernelunitlength", "surfacescale", "diffuseconstant", "specularconstant",
    "specularexponent", "limitingconeangle", "azimuth", "elevation", "pointsatx", "pointsaty", "pointsatz",
    "basefrequency", "numoctaves", "seed", "stitchtiles", "crossorigin",
}  # fmt: skip
PRESENTATION = {
    "alignment-baseline", "baseline-shift", "clip", "clip-path", "clip-rule", "color", "color-interpolation",
    "color-interpolation-filters", "color-profile", "color-rendering", "cursor", "direction", "display",
    "dominant-baseline", "enable-background", "fill", "fill-opacity", "fill-rule", "filter", "flood-color",
    "flood-opacity", "font", "font-family", "font-size", "font-size-adjust", "font-stretch", "font-style",
    "font-variant", "font-weight", "glyph-orientation-horizontal", "glyph-orientation-vertical",
    "image-rendering", "kerning", "letter-spacing", "lighting-color", "marker", "marker-end", "marker-mid",
    "marker-start", "mask", "mask-type", "opacity", "overflow", "paint-order", "pointer-events",
    "shape-rendering", "stop-color", "stop-opacity", "stroke", "stroke-dasharray", "stroke-dashoffset",
    "stroke-linecap", "stroke-linejoin", "stroke-miterlimit", "stroke-opacity", "stroke-width", "text-anchor",
    "text-decoration", "text-rendering", "transform-origin", "transform-box", "unicode-bidi", "vector-effect",
    "visibility", "word-spacing", "writing-mode", "mix-blend-mode", "isolation", "solid-color",
    "solid-opacity", "line-height", "white-space", "font-feature-settings", "font-kerning",
    "font-variant-ligatures", "text-transform", "text-orientation", "inline-size", "shape-inside",
    "shape-padding", "shape-margin",
}  # fmt: skip
ATTRIBUTES = CORE | GEOMETRY | FILTER_ATTRIBUTES | PRESENTATION

# Editor namespaces: their elements and attributes are ignored by browsers.
EDITOR_NAMESPACES = (
    "http://www.inkscape.org/namespaces/inkscape",
    "http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd",
    "http://inkscape.sourceforge.net/DTD/sodipodi-0.dtd",
    "http://ns.adobe.com/",  # Illustrator, Extensibility, Graphs, Variables, SaveForWeb, XMP ...
    "http://www.bohemiancoding.com/sketch/ns",
    "http://www.serif.com/",
    "http://www.figma.com/",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "http://creativecommons.org/ns#",
    "http://web.resource.org/cc/",
    "http://purl.org/dc/",
    "http://www.openswatchbook.org/uri/2009/osb",
    "http://schemas.microsoft.com/visio/",
    "http://www.corel.com/coreldraw/odm/",
    "http://vectornator.io",
    "http://www.vectornator.io",
    "https://boxy-svg.com",
)
RASTER_DATA = re.compile(r"^data:image/(png|jpe?g|gif|webp)(;[\w=.+-]+)*(;base64)?,", re.I)
FRAGMENT = re.compile(r"^\s*#[^\s#'\"()]*\s*\Z")
CSS_URL = re.compile(r"url\s*\(\s*(['\"]?)(.*?)\1\s*\)", re.I | re.S)
CSS_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})\s?|\\(.)", re.S)
CSS_COMMENT = re.compile(r"/\*.*?(\*/|$)", re.S)
SCRIPT_SCHEMES = re.compile(r"(javascript|vbscript|livescript|data)\s*:", re.I)
_INVISIBLE = re.compile(r"[\x00-\x20\x7f]+")
SHOWN = 60


def namespace_of(name: str) -> str:
    return name[1:].split("}", 1)[0] if name.startswith("{") else ""


def local_of(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def is_editor(namespace: str) -> bool:
    return any(namespace.startswith(prefix) for prefix in EDITOR_NAMESPACES)


def shown(value: str) -> str:
    value = " ".join(value.split())
    return repr(value if len(value) <= SHOWN else value[: SHOWN - 1] + "…")


def _unescape(match: re.Match[str]) -> str:
    if match.group(1):
        code = int(match.group(1), 16)
        return chr(code) if 0 < code <= 0x10FFFF else "\ufffd"
    return match.group(2)


def css_problems(css: str) -> list[str]:
    """What makes CSS not static: @import, expression(), behaviours, non-fragment url(), script URLs."""
    text = CSS_COMMENT.sub("", CSS_ESCAPE.sub(_unescape, css) if "\\" in css else css)
    plain = _INVISIBLE.sub("", text).lower()
    problems = []
    if "@import" in plain:
        problems.append("@import")
    if "expression(" in plain:
        problems.append("expression()")
    if "-moz-binding" in plain or "behavior:" in plain:
        problems.append("a binding or behavior")
    for match in CSS_URL.finditer(text):
        if not FRAGMENT.match(match.group(2)):
            problems.append(f"url() of {shown(match.group(2))}")
    if "url(" in plain and not CSS_URL.search(text):
        problems.append("an unterminated url(")
    if "javascript:" in plain or "vbscript:" in plain:
        problems.append("a script URL")
    return list(dict.fromkeys(problems))


def reference_problem(element: str, value: str) -> str | None:
    """Why an href-like value may not stay, or None: a `#fragment`, or raster data on an image."""
    if FRAGMENT.match(value):
        return None
    if element in ("image", "feimage") and RASTER_DATA.match(value.strip()):
        return None
    scheme = SCRIPT_SCHEMES.match(_INVISIBLE.sub("", value))
    if scheme and scheme.group(1).lower() in ("javascript", "vbscript", "livescript"):
        return f"{scheme.group(1).lower()}: URL"
    return f"{'data: URL' if scheme else 'external reference'} {shown(value)}"
