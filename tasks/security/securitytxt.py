"""RFC 9116 security.txt: parse the fields a review asks for (Contact, Expires)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

PGP_HEADER = "-----BEGIN PGP SIGNED MESSAGE-----"
PGP_SIGNATURE = "-----BEGIN PGP SIGNATURE-----"


@dataclass
class SecurityTxt:
    contacts: list[str] = field(default_factory=list)
    expires: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def judge(self, now: datetime.datetime) -> list[str]:
        """What is wrong with it for a review (empty when it has a Contact and one future Expires)."""
        found = list(self.problems)
        if not self.contacts:
            found.append("no Contact field")
        bad = [c for c in self.contacts if not c.lower().startswith(("mailto:", "https:", "tel:"))]
        if bad:
            found.append(f"Contact {bad[0][:80]!r} is not a mailto:, https: or tel: URI")
        if not self.expires:
            found.append("no Expires field")
        elif len(self.expires) > 1:
            found.append("more than one Expires field")
        else:
            moment = parse_moment(self.expires[0])
            if moment is None:
                found.append(f"Expires {self.expires[0][:60]!r} is not an RFC 3339 date and time")
            elif moment <= now:
                found.append(f"it expired on {moment.isoformat()}")
        return found


def parse_moment(value: str) -> datetime.datetime | None:
    try:
        moment = datetime.datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def parse(text: str) -> SecurityTxt:
    """The fields of a security.txt (a cleartext-signed one included); unknown fields are ignored."""
    out = SecurityTxt()
    lines = text.splitlines()
    if lines and lines[0].strip() == PGP_HEADER:
        lines = lines[1:]
        while lines and lines[0].strip():  # the armor headers (Hash: ...) end at a blank line
            lines = lines[1:]
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if line.startswith(PGP_SIGNATURE):
            break
        if not line or line.startswith("#"):
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip() or " " in name.strip():
            out.problems.append(f"line {number} is not a `Field: value` line")
            continue
        key = name.strip().lower()
        if key == "contact":
            out.contacts.append(value.strip())
        elif key == "expires":
            out.expires.append(value.strip())
    return out
