"""The PII step: what it finds, what it must not take for PII, redacting and dropping."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from curation.steps import pii
from curation.steps.base import Dropped, StepOptionError
from curation.steps.pii import ENTITIES, find, iban_valid, luhn_valid, scan
from tests.curation.steps.examples import assert_json_ready, every_shape, frozen, record

ALL = frozenset(ENTITIES)


def redacted(text: str, entities: frozenset[str] = ALL) -> str:
    return scan(text, entities, Counter())


def kinds(text: str) -> list[str]:
    return [kind for _, _, kind in find(text)]


# --- what is found ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mail alice@example.com.", "Mail [EMAIL]."),
        ("<bob.smith+news@mail.co.uk>", "<[EMAIL]>"),
        ("_ops-team@sub.example.org", "[EMAIL]"),
        ("Call +44 20 7946 0958 now", "Call [PHONE] now"),
        ("+1 (415) 555-0132", "[PHONE]"),
        ("+4915112345678", "[PHONE]"),
        ("+44 (0)20 7946 0958", "[PHONE]"),
        ("(415) 555-0132", "[PHONE]"),
        ("415.555.0132 or 415-555-0132", "[PHONE] or [PHONE]"),
        ("1-415-555-0132 and 1 (415) 555-0132", "[PHONE] and [PHONE]"),
        ("020 7946 0958", "[PHONE]"),
        ("06 12 34 56 78", "[PHONE]"),
        ("0151 12345678", "[PHONE]"),
        ("Server 8.8.8.8:53", "Server [IP_ADDRESS]:53"),
        ("v6 2606:4700:4700::1111 and ::ffff:8.8.4.4", "v6 [IP_ADDRESS] and [IP_ADDRESS]"),
        ("4111 1111 1111 1111", "[CREDIT_CARD]"),
        ("4111-1111-1111-1111", "[CREDIT_CARD]"),
        ("card=4111111111111111;", "card=[CREDIT_CARD];"),
        ("Amex 3782 822463 10005", "Amex [CREDIT_CARD]"),
        ("DE89 3704 0044 0532 0130 00", "[IBAN]"),
        ("GB82WEST12345698765432", "[IBAN]"),
        ("IBAN GB82 WEST 1234 5698 7654 32 THEN PAY", "IBAN [IBAN] THEN PAY"),
    ],
)
def test_it_redacts(text, expected):
    assert redacted(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        # not addresses: no dotted domain, an image name, numpy's matmul
        "user@localhost",
        "git@server:repo.git",
        "icon@2x.png",
        "y = a@b.T",
        # dates, times, versions, timestamps, plain integers
        "2024-01-15",
        "01-02-2024 and 01.02.2024 and 15/01/2024",
        "2024-01-15T10:30:00+01:00",
        "12:30:45",
        "v1.2.3 and 1.20.300 and 10.0.19045.2965",
        "1.2.3+20130313144700",
        "1700000000 and 1700000000000",
        "12345678901234",
        # NANP codes never start with 0 or 1
        "555-123-4567 and 123-456-7890",
        # too few digits for a national number
        "01 2345 67",
        # not global addresses
        "127.0.0.1, 192.168.1.1, 10.0.0.1, 172.16.0.5, 0.0.0.0, 203.0.113.7",
        "::1, fe80::1, 2001:db8::1",
        # not addresses at all
        "256.1.1.1 and 1.2.3.4.5 and 01.2.3.4",
        "std::vector<int> and a::b::c",
        "00:1a:2b:3c:4d:5e",
        # Luhn fails
        "4111 1111 1111 1112",
        "4111111111111112",
        # a prefix no card network uses
        "1234567812345670",
        # mod-97 fails
        "DE89 3704 0044 0532 0130 01",
        "GB82WEST12345698765433",
        "DE3023206390092005",  # and its digits, Luhn-valid, are no card number either
        "AB12 3456 7890 1234 5678",
    ],
)
def test_it_leaves_what_is_not_pii(text):
    assert redacted(text) == text


def test_it_takes_the_digits_of_an_iban_for_nothing_else():
    assert kinds("DE89 3704 0044 0532 0130 00") == ["iban"]


def test_it_finds_a_four_part_version_as_an_address():
    # documented: a global-looking dotted quad cannot be told from an address
    assert kinds("1.2.3.4") == ["ip_address"]


def test_it_redacts_only_the_entities_asked_for_but_still_sees_the_others():
    text = "alice@example.com, +44 20 7946 0958, 4111 1111 1111 1111"

    assert redacted(text, frozenset({"email"})) == "[EMAIL], +44 20 7946 0958, 4111 1111 1111 1111"
    assert redacted(text, frozenset({"phone"})) == "alice@example.com, [PHONE], 4111 1111 1111 1111"


def test_it_counts_what_it_replaces():
    counts: Counter[str] = Counter()

    scan("a@example.com b@example.com 8.8.8.8", ALL, counts)

    assert counts == {"email": 2, "ip_address": 1}


@pytest.mark.parametrize(
    "text",
    ["1 " * 50_000, "+1 " * 50_000, "a:" * 50_000, "@" * 100_000, "DE89 " * 20_000],
    ids=["digits", "plus", "colons", "ats", "iban-starts"],
)
def test_it_stays_fast_on_long_runs(text):
    assert redacted(text) == text  # each pattern looks a bounded way ahead of where it starts


# --- checksums -------------------------------------------------------------------------------------------------


def luhn_check_digit(body: str) -> str:
    return next(d for d in "0123456789" if luhn_valid(body + d))


@given(st.text(alphabet="0123456789", min_size=12, max_size=18))
def test_luhn_accepts_exactly_one_check_digit(body):
    assert sum(luhn_valid(body + d) for d in "0123456789") == 1


@given(st.text(alphabet="0123456789", min_size=14, max_size=14), st.integers(0, 14), st.integers(1, 9))
def test_luhn_catches_any_single_wrong_digit(body, position, shift):
    number = "4" + body + luhn_check_digit("4" + body)
    wrong = number[:position] + str((int(number[position]) + shift) % 10) + number[position + 1 :]

    assert luhn_valid(number)
    assert not luhn_valid(wrong)
    assert redacted(f"pay with {number} today") == "pay with [CREDIT_CARD] today"
    if wrong[0] in "23456":
        assert redacted(f"pay with {wrong} today") == f"pay with {wrong} today"


def iban_with_check_digits(country: str, bban: str) -> str:
    remainder = int("".join(str(int(c, 36)) for c in bban + country + "00")) % 97
    return f"{country}{98 - remainder:02d}{bban}"


@given(st.sampled_from(["DE", "FR", "GB", "NL"]), st.text(alphabet="0123456789", min_size=14, max_size=22))
def test_a_computed_iban_is_redacted_and_a_mistyped_one_is_not(country, bban):
    iban = iban_with_check_digits(country, bban)
    mistyped = iban[:-1] + str((int(iban[-1]) + 1) % 10)

    assert iban_valid(iban) and not iban_valid(mistyped)
    assert redacted(f"to {iban}.") == "to [IBAN]."
    assert redacted(f"to {mistyped}.") == f"to {mistyped}."


# --- validate --------------------------------------------------------------------------------------------------


def test_it_fills_in_every_entity_by_default():
    assert pii.validate({"action": "drop"}) == {"action": "drop", "entities": list(ENTITIES)}


def test_it_keeps_the_entities_in_catalog_order():
    assert pii.validate({"action": "redact", "entities": ["iban", "email"]})["entities"] == ["email", "iban"]


@pytest.mark.parametrize(
    ("options", "option"),
    [
        ({}, "action"),
        ({"action": "mask"}, "action"),
        ({"action": "redact", "entities": ["email", "ssn"]}, "entities[1]"),
        ({"action": "redact", "entities": []}, "entities"),
        ({"action": "redact", "placeholder": "***"}, "placeholder"),
    ],
)
def test_it_names_the_wrong_option(options, option):
    with pytest.raises(StepOptionError) as error:
        pii.validate(options)

    assert error.value.option == option


# --- the step --------------------------------------------------------------------------------------------------


def run(records, **options):
    return pii.apply(records, pii.validate(options), {})


def test_it_redacts_records_and_counts_values_by_type():
    records = [
        record({"prompt": "Mail a@example.com or b@example.com", "response": "Or call +44 20 7946 0958."}, id=1),
        record({"prompt": "What is 2 + 2?", "response": "4"}, id=2),
    ]

    out = run(records, action="redact")

    assert out.kept[0]["content"] == {"prompt": "Mail [EMAIL] or [EMAIL]", "response": "Or call [PHONE]."}
    assert out.kept[1] is records[1]
    assert (out.changed, out.dropped, out.stats) == (1, [], {"redacted.email": 2, "redacted.phone": 1})


def test_it_drops_records_with_counts_and_types_but_never_the_values():
    records = [
        record({"text": "Reach me at a@example.com or b@example.com, card 4111 1111 1111 1111."}, id=7),
        record({"text": "Nothing to see, version 1.2.3."}, id=8),
    ]

    out = run(records, action="drop")

    assert out.dropped == [Dropped(7, "pii", {"entities": {"credit_card": 1, "email": 2}})]
    assert out.kept == [records[1]]
    assert (out.changed, out.stats) == (0, {"dropped.credit_card": 1, "dropped.email": 1})
    detail = json.dumps(out.dropped[0].detail)
    assert "example.com" not in detail and "4111" not in detail


def test_it_takes_every_shape_without_mutating_it():
    records = every_shape()
    before = frozen(records)

    redacting = run(records, action="redact")
    dropping = run(records, action="drop")

    assert frozen(records) == before
    assert redacting.kept[1]["content"]["prompt"] == "**Add** 2 and 2, then mail [EMAIL]."
    assert redacting.kept[2]["content"]["messages"][1]["content"] == "What is 2 + 2? Call me on [PHONE]."
    assert redacting.kept[2]["content"]["messages"][2] == records[2]["content"]["messages"][2]
    assert redacting.kept[4]["content"]["rejected"] == [{"role": "assistant", "content": "5, card [CREDIT_CARD]"}]
    assert redacting.changed == 3
    assert [d.id for d in dropping.dropped] == [2, 3, 5]
    assert [r["id"] for r in dropping.kept] == [1, 4]
    for d in dropping.dropped:
        assert_json_ready(d.detail)
    assert_json_ready(redacting.stats)
