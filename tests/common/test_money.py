"""common/money.py: amounts, currencies, and money written as Babel writes it."""
from decimal import ROUND_HALF_UP, Decimal

import pytest
from babel.numbers import format_currency, get_currency_precision

from common.money import AmountError, currencies, format_money, parse_amount, parse_currency


@pytest.mark.parametrize("amount", ["0", "1234.5", "-1234.5", "0.004", "999999999999.999999", "12.3456", "7"])
def test_format_money__as_babel_writes_every_currency(amount: str) -> None:
    for code in sorted(currencies()):
        # Rounded half up first, as format_money rounds (Babel's own rounding is half to even).
        rounded = Decimal(amount).quantize(Decimal(10) ** -get_currency_precision(code), ROUND_HALF_UP)
        assert format_money(Decimal(amount), code) == format_currency(rounded, code, locale="en_US"), code


def test_format_money__half_up_and_none() -> None:
    assert format_money(Decimal("4.225"), "USD") == "$4.23"
    assert format_money(Decimal("-0.004"), "USD") == "$0.00"
    assert format_money(Decimal("1234.5"), "JPY") == "¥1,235"
    assert format_money(None, "USD") == "—"


@pytest.mark.parametrize(("text", "why"), [("-1", "must not be negative"), ("nan", "finite"), ("1e3", "exponent"),
                                           ("1,5", "dot"), ("1.0000001", "6 decimals"), ("1" * 13, "larger")])
def test_parse_amount__says_why(text: str, why: str) -> None:
    with pytest.raises(AmountError, match=why):
        parse_amount(text, "payout")


def test_parse_currency__codes_in_use_only() -> None:
    assert parse_currency(" eur ") == "EUR" and "USD" in currencies() and len(currencies()) > 150
    with pytest.raises(AmountError, match="ISO 4217"):
        parse_currency("DEM")  # the Deutsche Mark: a code, no longer in use
