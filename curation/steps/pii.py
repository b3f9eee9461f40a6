"""The PII step: find e-mail addresses, phone numbers, IP addresses, payment card numbers and IBANs in every piece
of text of a record, and redact them or drop the record.

``{"op": "pii", "action": "redact" | "drop", "entities": [...]}`` (``entities``: default all of ``ENTITIES``).

* ``redact`` replaces each one with its placeholder (``[EMAIL]``…) and keeps every record; ``changed`` counts the
  records redacted, ``stats["redacted.<entity>"]`` the values replaced.
* ``drop`` drops each record holding any: ``Dropped(id, "pii", {"entities": {"email": 2}})``, counts and types
  only, never the values; ``stats["dropped.<entity>"]`` counts the records dropped that held that type.

What counts, and what deliberately does not (precision over recall: a redacted version number or a dropped
maths answer damages training data as surely as a leak):

* **email** — ``local@domain.tld``: the domain needs a dot and a top-level name of 2+ letters, so
  ``user@localhost``, ``git@server`` and ``a@b.T`` (numpy's matmul) are not addresses; nor is ``icon@2x.png``
  (image names).
* **phone** — international numbers written with ``+`` (8–15 digits, spaces, dots, dashes and a ``(0)`` allowed);
  North American numbers with separators (``(415) 555-0132``, ``415.555.0132``; NANP rules: area and exchange
  codes start with 2–9); national numbers starting with a single 0 with space or dash groups, 9–12 digits
  (``020 7946 0958``, ``06 12 34 56 78``). A run of digits without separators is never a phone number (ids,
  timestamps), nor is a date (``2024-01-15``, ``01-02-2024``: too few digits) or a dotted version.
* **ip_address** — IPv4 and IPv6 addresses that are globally routable (``ipaddress``'s ``is_global``): private,
  loopback, link-local and documentation addresses (``127.0.0.1``, ``192.168.1.1``, ``::1``, ``2001:db8::1``)
  identify no one and fill code samples, so they are kept. A four-part version such as ``1.2.3.4`` reads as an
  IPv4 address and is redacted.
* **credit_card** — 13–19 digits, together or in groups of 3–6 split by the same space or dash, the first group of
  4 (``4111 1111 1111 1111``, Amex ``3782 822463 10005``); it must start with 2–6 (the card networks' ranges) and
  pass the Luhn check. A bare integer of that length that happens to pass is redacted too: it cannot be told
  from a card number.
* **iban** — two capital letters, two check digits and 11–30 letters or digits, together or in groups of 4, 15–34
  characters in all, passing the ISO 7064 mod-97 check.

The kinds are looked for in that order of precedence: e-mail, IBAN, IPv6, then card, IPv4 and phone; text one
has taken is not looked at again, so the digits of an IBAN never count as a card number as well.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from curation.steps.base import Dropped, Record, StepOutput
from curation.steps.options import CHOICE, CHOICES, Option, validate_options
from curation.steps.records import map_text

ENTITIES = {
    "email": "[EMAIL]",
    "phone": "[PHONE]",
    "ip_address": "[IP_ADDRESS]",
    "credit_card": "[CREDIT_CARD]",
    "iban": "[IBAN]",
}

OPTIONS = (
    Option(
        "action",
        CHOICE,
        "redact each value with a placeholder, or drop the record",
        required=True,
        choices=("redact", "drop"),
    ),
    Option("entities", CHOICES, "the kinds of PII to look for", default=tuple(ENTITIES), choices=tuple(ENTITIES)),
)

# --- detection -------------------------------------------------------------------------------------------------
#
# Each pattern starts with a character class and only then looks behind, so the regex engine can skip to the
# next candidate character in C instead of trying every position (three times faster than lookbehinds first).

# An address is found from its "@": the local part before it, the domain after it.
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9_][\w.%+-]{0,63}\Z")
_EMAIL_LOCAL_CHARACTER = re.compile(r"[\w.%+-]")
_EMAIL_DOMAIN = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"(?!(?:png|jpe?g|gif|svg|webp|bmp|ico|tiff?)(?![A-Za-z]))[A-Za-z]{2,24}(?![\w-])"
)
_IBAN = re.compile(r"[A-Z](?<![A-Za-z0-9][A-Z])[A-Z]\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])")
# A run of hex digits and colons with two colons in its first two groups ("::1", "2001:db8:…"), and an IPv4 tail.
_IPV6 = re.compile(
    r"[0-9A-Fa-f:](?<![\w:.][0-9A-Fa-f:])"
    r"(?:(?<=:)(?=[0-9A-Fa-f]{0,4}:)|(?<=[0-9A-Fa-f])(?=[0-9A-Fa-f]{0,3}:[0-9A-Fa-f]{0,4}:))"
    r"[0-9A-Fa-f:]{1,38}(?:\.\d{1,3}){0,3}(?![\w:]|\.\w)"
)
_PHONE_END = r"(?!\w|[.\-/:]\d)"
# International numbers ("+", then digits one at a time, each optionally after a separator, so there is nothing
# to backtrack over) and North American numbers with the area code in parentheses.
_STARTS_WITH_PLUS_OR_PARENTHESIS = re.compile(
    r"[+(](?<![\w+.\-/:][+(])(?P<phone>"
    r"(?<=\+)[1-9](?:[ .-]?\(\d{1,4}\)|[ .-]?\d){7,16}"
    rf"|(?<=\()[2-9]\d\d\) ?[2-9]\d\d[ .-]\d{{4}}){_PHONE_END}"
)
# Everything else that starts with a digit, in one pass: a card (first digit 2–6), an IPv4 address, a North
# American number (optionally after "1-") or a national number with one leading 0.
_STARTS_WITH_DIGIT = re.compile(
    r"\d(?:"
    r"(?<![\w.,+-]\d)(?<=[2-6])(?P<credit_card>\d{12,18}|\d{3}(?P<card_sep>[ -])\d{3,6}(?:(?P=card_sep)\d{3,6}){1,3})"
    r"(?!\d|[.,-]\d)"
    r"|(?<![\w.]\d)(?P<ipv4>\d{0,2}\.\d{1,3}\.\d{1,3}\.\d{1,3})(?!\w|\.\d)"
    r"|(?<![\w+.\-/:]\d)(?P<phone>"
    r"(?<=1)[ .-](?:\([2-9]\d\d\) ?|[2-9]\d\d[ .-])[2-9]\d\d[ .-]\d{4}"
    r"|(?<=[2-9])\d\d[ .-][2-9]\d\d[ .-]\d{4}"
    r"|(?<=0)[1-9]\d{0,3}(?:[ -]\d{2,8}){1,4}"
    rf"){_PHONE_END})"
)
_FOUR_DIGITS = re.compile(r"\d(?:\D*\d){3}")  # what every kind but an e-mail address needs at least

Match = tuple[int, str, str]  # start, text, kind


def _emails(text: str) -> Iterator[Match]:
    at = text.find("@")
    while at != -1:
        local = _EMAIL_LOCAL.search(text, max(0, at - 64), at)
        domain = _EMAIL_DOMAIN.match(text, at + 1) if local else None
        # the local part must be all there is before the "@", not the end of a longer run
        if local and domain and not (local.start() and _EMAIL_LOCAL_CHARACTER.match(text, local.start() - 1)):
            yield local.start(), text[local.start() : domain.end()], "email"
        at = text.find("@", at + 1)


def _matches(pattern: re.Pattern[str], kind: str | None = None) -> Callable[[str], Iterator[Match]]:
    """The matches of ``pattern``, of the given kind or, without one, of the named group that matched."""

    def matches(text: str) -> Iterator[Match]:
        for match in pattern.finditer(text):
            yield match.start(), match[0], kind or str(match.lastgroup)

    return matches


# In order of precedence: a span one of them has taken is not looked at by the next ones. Each runs only on text
# holding what it needs: an "@", a ":", or four digits.
_DIGITS = "digits"
_DETECTORS: tuple[tuple[str, Callable[[str], Iterator[Match]]], ...] = (
    ("@", _emails),
    (_DIGITS, _matches(_IBAN, "iban")),
    (":", _matches(_IPV6, "ipv6")),
    (_DIGITS, _matches(_STARTS_WITH_DIGIT)),
    (_DIGITS, _matches(_STARTS_WITH_PLUS_OR_PARENTHESIS)),
)


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a string of digits holds."""
    doubled = sum(_LUHN_DOUBLED[d] for d in digits[-2::-2])
    return (sum(map(int, digits[-1::-2])) + doubled) % 10 == 0


_LUHN_DOUBLED = {str(d): (2 * d) // 10 + (2 * d) % 10 for d in range(10)}


def iban_valid(iban: str) -> bool:
    """``iban`` (no spaces) has a plausible length and passes the ISO 7064 mod-97 check."""
    if not 15 <= len(iban) <= 34:
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _valid_length(kind: str, found: str) -> int:
    """How much of a match is a valid value of its kind: all of it, a prefix (an IBAN followed by a capitalised
    word the pattern took for a group), or nothing (0)."""
    if kind == "email":
        return len(found)
    if kind == "iban":
        cuts = [len(found)] + [i for i in range(len(found) - 1, 0, -1) if found[i] == " "]
        return next((cut for cut in cuts if iban_valid(found[:cut].replace(" ", ""))), 0)
    if kind in ("ipv4", "ipv6"):
        try:
            return len(found) if ipaddress.ip_address(found).is_global else 0
        except ValueError:  # "12:30:45", "999.1.1.1", "01.2.3.4"
            return 0
    if kind == "credit_card":
        digits = found.replace(" ", "").replace("-", "")
        return len(found) if 13 <= len(digits) <= 19 and luhn_valid(digits) else 0
    n_digits = sum(c.isdigit() for c in found)  # a phone number
    if found.startswith("+"):
        return len(found) if 8 <= n_digits - found.count("(0)") <= 15 else 0
    if found.startswith("0"):
        return len(found) if 9 <= n_digits <= 12 else 0
    return len(found)  # North American: the pattern fixes the digits


def find(text: str) -> list[tuple[int, int, str]]:
    """Every PII value in ``text``: ``(start, end, entity)``, in order of position."""
    has_digits = _FOUR_DIGITS.search(text) is not None
    found: list[tuple[int, int, str]] = []
    for needs, detect in _DETECTORS:
        if not has_digits if needs == _DIGITS else needs not in text:
            continue
        for start, match, kind in detect(text):
            end = start + _valid_length(kind, match)
            if end > start and not any(start < taken_end and taken_start < end for taken_start, taken_end, _ in found):
                found.append((start, end, "ip_address" if kind in ("ipv4", "ipv6") else kind))
    return sorted(found)


def scan(text: str, entities: frozenset[str], counts: Counter[str]) -> str:
    """``text`` with each value of the given entity types replaced by its placeholder; ``counts`` gains one per
    value replaced. Every type is looked for even when not asked for, so that a card number is never half taken
    for a phone number."""
    pieces: list[str] = []
    last = 0
    for start, end, kind in find(text):
        if kind in entities:
            pieces += (text[last:start], ENTITIES[kind])
            counts[kind] += 1
            last = end
    return "".join(pieces) + text[last:] if pieces else text


# --- the step --------------------------------------------------------------------------------------------------


def validate(options: dict[str, Any]) -> dict[str, Any]:
    checked = validate_options(OPTIONS, options, owner="the pii step")
    checked["entities"] = [name for name in ENTITIES if name in checked["entities"]]
    return checked


def apply(records: list[Record], options: dict[str, Any], context: dict[str, Any]) -> StepOutput:
    entities = frozenset(options["entities"])
    dropping = options["action"] == "drop"
    out = StepOutput(kept=[])
    stats: Counter[str] = Counter()
    for record in records:
        counts: Counter[str] = Counter()
        content = map_text(record["content"], partial(scan, entities=entities, counts=counts))
        if not counts:
            out.kept.append(record)
        elif dropping:
            out.dropped.append(Dropped(record["id"], "pii", {"entities": dict(sorted(counts.items()))}))
            stats.update({f"dropped.{kind}": 1 for kind in counts})
        else:
            out.kept.append({**record, "content": content})
            out.changed += 1
            stats.update({f"redacted.{kind}": n for kind, n in counts.items()})
    out.stats = dict(stats)
    return out
