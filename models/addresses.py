"""E-mail addresses: the one validator for every address a partner gives (support, mailto links, contacts).

Syntax and domain rules are `email-validator`'s (the library pydantic's `EmailStr` uses), without a
DNS lookup: a review judges the form of an address, and the network checks are the links stage's.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email


def email_problem(address: str) -> str | None:
    """Why `address` is not a usable e-mail address, as a phrase that follows the field's name; else None."""
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as error:
        return f"is not a valid address: {error}"
    return None


def email_domain(address: str) -> str | None:
    """The normalized (IDNA-decoded, lowercase) domain of a valid address, else None."""
    try:
        return validate_email(address, check_deliverability=False).domain.lower()
    except EmailNotValidError:
        return None
