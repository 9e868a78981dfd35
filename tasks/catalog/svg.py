"""Safe analysis of a partner's inline SVG (logo or mark).

`inspect(svg_text)` parses with defusedxml, refusing DTDs, entity declarations and external
references, and bounds the work by size (checked before parsing) and element depth (checked while
parsing; no tree is built). It reports the drawing's size and aspect and every departure from the
static subset of `tasks.catalog.policy` (an allow-list): scripts, event handlers, animation,
embedded documents, external or `data:` references, unsafe CSS, processing instructions and
XInclude, each named by element or attribute.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from xml.etree.ElementTree import ParseError

import defusedxml
import defusedxml.ElementTree as safe_xml

from partner_review.tasks.catalog import policy

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
DEFAULT_MAX_BYTES = 1024 * 1024
DEFAULT_MAX_DEPTH = 100

_MAX_DANGERS = 10
_MAX_TEXT_CHARS = 1000
_DTD_SCAN_CHARS = 64 * 1024
_TEXT_ELEMENTS = {"text", "tspan", "textpath"}
_UNIT_PX = {"": 1.0, "px": 1.0, "pt": 4 / 3, "pc": 16.0, "mm": 96 / 25.4, "cm": 96 / 2.54, "in": 96.0}
_LENGTH = re.compile(r"^\s*\+?((?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(px|pt|pc|mm|cm|in)?\s*\Z")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_EXTERNAL_ENTITY = re.compile(r"<!ENTITY[^>]{0,1000}?\b(?:SYSTEM|PUBLIC)\b")
_INVISIBLE = re.compile(r"[\x00-\x20\x7f]+")
_SCRIPT_URL = re.compile(r"(javascript|vbscript|livescript):")
_NAME = 40
_FRAGMENTS_ONLY = " (only #fragment references of the same file are allowed)"


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
        self.style_depth = 0
        self.style: list[str] = []
        self._text_chars = 0

    def start(self, tag: str, attributes: dict[str, str]) -> None:
        self.depth += 1
        if self.depth > self.max_depth:
            raise SvgError("too_deep", f"elements are nested more than {self.max_depth} levels deep")
        namespace, local = policy.namespace_of(tag), policy.local_of(tag)[:_NAME]
        name = local.lower()
        if self.depth == 1:
            if name != "svg":
                raise SvgError("not_svg", f"the root element is <{local}>, not <svg>")
            self.root_tag, self.root_attributes = tag, dict(attributes)
        element = f"<{local}>"
        svg_element = namespace in ("", policy.SVG)
        if svg_element:
            if name in policy.ACTIVE_ELEMENTS:
                self._danger(policy.ACTIVE_ELEMENTS[name])
            elif name not in policy.ELEMENTS:
                self._danger(f"{element} element (not in the static SVG subset)")
        elif namespace == policy.XHTML:
            self._danger(f"{element} element in the XHTML namespace (HTML inside the SVG)")
        elif namespace in policy.XINCLUDE:
            self._danger(f"XInclude {element} element (it pulls in another document)")
        elif not policy.is_editor(namespace):
            self._danger(f"{element} element in the unknown namespace {policy.shown(namespace)}")
        for attribute, value in attributes.items():
            self._attribute(name if svg_element else "", element, attribute, value)
        if svg_element and name == "style":
            self.style_depth += 1
        if name in _TEXT_ELEMENTS:
            self.text_depth += 1
            if name == "text":
                self.data(" ")  # separate one <text> from the next; <tspan> joins its neighbours

    def _attribute(self, name: str, element: str, attribute: str, value: str) -> None:
        namespace, local = policy.namespace_of(attribute), policy.local_of(attribute)[:_NAME]
        lowered = local.lower()
        plain = _INVISIBLE.sub("", value).lower()
        if lowered.startswith("on"):
            self._danger(f"{local} event-handler attribute on {element}")
            return
        scheme = _SCRIPT_URL.search(plain)
        if namespace in ("", policy.XLINK) and lowered in ("href", "src"):
            problem = policy.reference_problem(name, value)
            if problem:
                only = "" if problem.endswith(": URL") else _FRAGMENTS_ONLY
                self._danger(f"{problem} in the {local} attribute of {element}{only}")
            return
        if scheme:
            self._danger(f"{scheme.group(1)}: URL in the {local} attribute of {element}")
        if namespace == "":
            if lowered == "attributename" and (value.strip().lower().startswith("on") or "href" in plain):
                self._danger(f"{element} animates the {policy.shown(value)} attribute")
            elif lowered not in policy.ATTRIBUTES and not lowered.startswith(("data-", "aria-")) and name:
                self._danger(f"{local} attribute on {element} (not a presentation or core attribute)")
            if lowered == "style" or "url(" in plain or "expression(" in plain or "\\" in value:
                for problem in policy.css_problems(value):
                    self._danger(f"{problem} in the {local} attribute of {element}")
        elif namespace == policy.XML:
            if lowered not in ("space", "lang"):
                self._danger(f"xml:{local} attribute on {element}")
        elif namespace == policy.XLINK:
            if lowered not in ("title", "type", "show", "actuate", "role", "arcrole"):
                self._danger(f"xlink:{local} attribute on {element}")
        elif not policy.is_editor(namespace):
            self._danger(f"{local} attribute in the unknown namespace {policy.shown(namespace)} on {element}")

    def end(self, tag: str) -> None:
        self.depth -= 1
        name = policy.local_of(tag).lower()
        if name == "style" and self.style_depth and policy.namespace_of(tag) in ("", policy.SVG):
            self.style_depth -= 1
            for problem in policy.css_problems("".join(self.style)):
                self._danger(f"{problem} in <style>")
            self.style = []
        if name in _TEXT_ELEMENTS:
            if name == "text":
                self.data(" ")
            self.text_depth -= 1

    def data(self, text: str) -> None:
        if self.style_depth:
            self.style.append(text)
        if self.text_depth > 0 and self._text_chars < _MAX_TEXT_CHARS:
            self.text.append(text)
            self._text_chars += len(text)

    def pi(self, target: str, data: str) -> None:
        kind = "an XSLT stylesheet" if "xsl" in data.lower() else "it can pull in other resources"
        self._danger(f"processing instruction <?{target[:_NAME]}?> ({kind})")

    def close(self) -> None:
        return None

    def _danger(self, what: str) -> None:
        if what not in self.dangers and len(self.dangers) < _MAX_DANGERS:
            self.dangers.append(what)


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
