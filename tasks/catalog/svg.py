"""Safe analysis of a partner's inline SVG (logo or mark).

`inspect(svg_text)` parses with defusedxml, refusing DTDs, entity declarations and external
references, and bounds the work by size (checked before parsing) and element depth (checked while
parsing; no tree is built). It reports the drawing's size and aspect and any active content a browser could run:
`<script>`, `<foreignObject>`, `on*` event-handler attributes and `javascript:` URLs.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from xml.etree.ElementTree import ParseError

import defusedxml
import defusedxml.ElementTree as safe_xml

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
DEFAULT_MAX_BYTES = 1024 * 1024
DEFAULT_MAX_DEPTH = 100

_MAX_DANGERS = 10
_MAX_TEXT_CHARS = 1000
_DTD_SCAN_CHARS = 64 * 1024
_ACTIVE_ELEMENTS = {
    "script": "<script> element",
    "foreignobject": "<foreignObject> element",
    "handler": "<handler> element",
}
_TEXT_ELEMENTS = {"text", "tspan", "textpath"}
_UNIT_PX = {"": 1.0, "px": 1.0, "pt": 4 / 3, "pc": 16.0, "mm": 96 / 25.4, "cm": 96 / 2.54, "in": 96.0}
_LENGTH = re.compile(r"^\s*\+?((?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(px|pt|pc|mm|cm|in)?\s*$")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_EXTERNAL_ENTITY = re.compile(r"<!ENTITY[^>]{0,1000}?\b(?:SYSTEM|PUBLIC)\b")
_INVISIBLE = re.compile(r"[\x00-\x20\x7f]+")


class SvgError(ValueError):
    """An SVG refused before or during parsing; `kind` is a stable code, `reason` reads to a partner."""

    def __init__(self, kind: str, reason: str):
        self.kind = kind
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class SvgInfo:
    """What an SVG declares: its size, its aspect, its visible text and any active content."""

    width: float | None
    height: float | None
    view_box: tuple[float, float, float, float] | None
    dangers: tuple[str, ...]
    text: str
    namespaced: bool

    @property
    def aspect(self) -> float | None:
        """Width divided by height, from the viewBox when declared, else from width and height."""
        if self.view_box:
            return self.view_box[2] / self.view_box[3]
        if self.width and self.height:
            return self.width / self.height
        return None

    @property
    def size_source(self) -> str | None:
        """Which attributes the aspect comes from: 'viewBox', 'width/height' or None."""
        if self.view_box:
            return "viewBox"
        if self.width and self.height:
            return "width/height"
        return None


def inspect(svg_text: str, *, max_bytes: int = DEFAULT_MAX_BYTES, max_depth: int = DEFAULT_MAX_DEPTH) -> SvgInfo:
    """Parse `svg_text` safely and describe it; raises SvgError when it cannot be analysed safely."""
    if len(svg_text) > max_bytes:  # every character is at least one byte: refuse without encoding
        raise SvgError("too_large", f"the SVG is larger than {max_bytes} bytes")
    data = svg_text.encode("utf-8")
    if len(data) > max_bytes:
        raise SvgError("too_large", f"the SVG is {len(data)} bytes, more than {max_bytes}")
    if not data.strip():
        raise SvgError("empty", "the SVG is empty")

    scanner = _Scanner(max_depth)
    parser = safe_xml.XMLParser(target=scanner, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    try:
        parser.feed(data)
        parser.close()
    except defusedxml.DTDForbidden as error:
        raise SvgError("dtd", _dtd_reason(svg_text, error)) from None
    except defusedxml.EntitiesForbidden:
        raise SvgError(
            "entities", "the SVG declares XML entities, which are refused (entity expansion attacks)"
        ) from None
    except defusedxml.ExternalReferenceForbidden:
        raise SvgError("external", "the SVG references an external resource through XML") from None
    except defusedxml.DefusedXmlException as error:
        raise SvgError("unsafe_xml", f"the SVG uses a refused XML feature: {error}") from None
    except ParseError as error:
        raise SvgError("malformed", f"the SVG is not well-formed XML ({error})") from None

    root = scanner.root_attributes
    return SvgInfo(
        width=_length(root.get("width")),
        height=_length(root.get("height")),
        view_box=_view_box(root.get("viewBox")),
        dangers=tuple(scanner.dangers),
        text=" ".join("".join(scanner.text).split())[:_MAX_TEXT_CHARS],
        namespaced=scanner.root_tag.startswith("{" + SVG_NAMESPACE + "}"),
    )


class _Scanner:
    """An ElementTree parser target that keeps only what `inspect` reports: no tree is built."""

    def __init__(self, max_depth: int):
        self.max_depth = max_depth
        self.depth = 0
        self.text_depth = 0
        self.root_tag = ""
        self.root_attributes: dict[str, str] = {}
        self.dangers: list[str] = []
        self.text: list[str] = []
        self._text_chars = 0

    def start(self, tag: str, attributes: dict[str, str]) -> None:
        self.depth += 1
        if self.depth > self.max_depth:
            raise SvgError("too_deep", f"elements are nested more than {self.max_depth} levels deep")
        local = _local(tag)
        name = local.lower()
        if self.depth == 1:
            if name != "svg":
                raise SvgError("not_svg", f"the root element is <{local[:40]}>, not <svg>")
            self.root_tag, self.root_attributes = tag, dict(attributes)
        if name in _ACTIVE_ELEMENTS:
            self._danger(_ACTIVE_ELEMENTS[name])
        for attribute, value in attributes.items():
            attribute_name = _local(attribute)[:40]
            if attribute_name.lower().startswith("on"):
                self._danger(f"{attribute_name} event-handler attribute on <{local[:40]}>")
            if "javascript:" in _INVISIBLE.sub("", value).lower():
                self._danger(f"javascript: URL in the {attribute_name} attribute of <{local[:40]}>")
        if name in _TEXT_ELEMENTS:
            self.text_depth += 1
            if name == "text":
                self.data(" ")  # separate one <text> from the next; <tspan> joins its neighbours

    def end(self, tag: str) -> None:
        self.depth -= 1
        name = _local(tag).lower()
        if name in _TEXT_ELEMENTS:
            if name == "text":
                self.data(" ")
            self.text_depth -= 1

    def data(self, text: str) -> None:
        if self.text_depth > 0 and self._text_chars < _MAX_TEXT_CHARS:
            self.text.append(text)
            self._text_chars += len(text)

    def close(self) -> None:
        return None

    def _danger(self, what: str) -> None:
        if what not in self.dangers and len(self.dangers) < _MAX_DANGERS:
            self.dangers.append(what)


def _local(tag: object) -> str:
    text = tag if isinstance(tag, str) else ""
    return text.rsplit("}", 1)[-1]


def _dtd_reason(svg_text: str, error: defusedxml.DTDForbidden) -> str:
    head = svg_text[:_DTD_SCAN_CHARS]  # bounded: the text may be hostile
    if _EXTERNAL_ENTITY.search(head):
        return "the SVG declares an external XML entity, which is refused (it could read files or reach other servers)"
    if "<!ENTITY" in head:
        return (
            "the SVG declares XML entities in a DTD, which are refused (entity expansion and external entity attacks)"
        )
    if error.sysid:
        return f"the SVG has a <!DOCTYPE> referring to the external DTD {error.sysid[:120]!r}; DTDs are refused"
    return "the SVG has a <!DOCTYPE> declaration; DTDs are refused"


def _length(value: str | None) -> float | None:
    if value is None:
        return None
    match = _LENGTH.match(value)
    if not match:
        return None  # percentages, em/ex and junk give no absolute size
    number = float(match.group(1)) * _UNIT_PX[match.group(2) or ""]
    return number if 0 < number < math.inf else None


def _view_box(value: str | None) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    numbers = _NUMBER.findall(value)
    if len(numbers) != 4 or _NUMBER.sub("", value).replace(",", "").strip():
        return None
    x, y, width, height = (float(n) for n in numbers)
    if not (0 < width < math.inf and 0 < height < math.inf):
        return None
    return (x, y, width, height)
