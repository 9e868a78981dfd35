"""What an error answer must not show: stack traces, file paths, framework and version banners."""

from __future__ import annotations

import re
from collections.abc import Mapping

QUOTE = 120  # characters of the offending text quoted in evidence

_BODY_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (what, re.compile(pattern, re.MULTILINE))
    for what, pattern in (
        ("a Python traceback", r"Traceback \(most recent call last\)|File \"[^\"\n]{1,300}\", line \d+"),
        (
            "a Java stack trace",
            r"(?:Exception|Error)(?: in thread \"[^\"\n]*\")?[:\s][^\n]*\n\s+at [\w$.]+\([\w$]+\.java:\d+\)",
        ),
        ("a Java stack frame", r"^\s+at [\w$.]+\((?:[\w$]+\.java:\d+|Native Method|Unknown Source)\)"),
        ("a .NET stack trace", r"^\s+at [\w.`<>]+\([^)\n]*\)(?: in [^\n]+:line \d+)?$|System\.\w+Exception"),
        ("a Node.js stack trace", r"^\s+at (?:[\w.<>$ ]+ )?\(?(?:/|[A-Za-z]:\\|node:)[^\n)]+:\d+:\d+\)?$"),
        (
            "a PHP error",
            r"(?:Fatal error|Warning|Parse error|Notice)</?b?>?:.{0,300} on line (?:<b>)?\d+|Stack trace:\s*\n#0 ",
        ),
        ("a Ruby backtrace", r"[\w/.-]+\.rb:\d+:in `"),
        ("a Go panic", r"^goroutine \d+ \[|^panic: "),
        (
            "a source file path",
            r"(?:/(?:home|var|usr|srv|opt|app|src|www)/[\w./-]{1,200}|[A-Za-z]:\\[\w\\. -]{1,200})\.(?:py|js|ts|rb|php|java|go|cs|pl)\b",
        ),
        (
            "a framework debug page",
            r"Werkzeug Debugger|Django Version:|Whitelabel Error Page|<title>Action Controller: Exception|"
            r"Laravel|Symfony\\Component|\bat Layer\.handle \[as handle_request\]",
        ),
        (
            "a server version banner",
            r"\b(?:Apache|nginx|Microsoft-IIS|Jetty|Tomcat|Werkzeug|gunicorn|Express)/\d[\w.]*",
        ),
    )
)
_VERSIONED = re.compile(r"[A-Za-z][\w.-]*/\d")
_BANNER_HEADERS = ("x-powered-by", "x-aspnet-version", "x-aspnetmvc-version", "x-generator")


def quote(text: str, start: int = 0) -> str:
    piece = text[start : start + QUOTE].replace("\r", " ").replace("\n", " ").strip()
    return piece + ("..." if len(text) > start + QUOTE else "")


def leaks(body: str, headers: Mapping[str, str]) -> list[dict[str, str]]:
    """Each leak found: what it is and the offending text, cut short."""
    found: list[dict[str, str]] = []
    for name in _BANNER_HEADERS:
        value = headers.get(name)
        if value:
            found.append({"what": f"a {name} header", "where": name, "quote": quote(value)})
    server = headers.get("server", "")
    if _VERSIONED.search(server):
        found.append({"what": "a version in the Server header", "where": "server", "quote": quote(server)})
    for what, pattern in _BODY_PATTERNS:
        match = pattern.search(body)
        if match:
            found.append({"what": what, "where": "body", "quote": quote(body, match.start())})
    return found
