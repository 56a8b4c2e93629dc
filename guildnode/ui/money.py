"""Money as people type and read it: major units ("1500.50 EUR") in forms and pages, minor
units (150050) in records.

Records carry whole numbers of a currency's minor unit (cents, pence; yen have none). The
UI converts with the currency's ISO 4217 exponent, so nobody has to count zeros.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from ..money import ISO_4217, exponent, major
from .forms import Refused

MAX_MINOR = 2**53 - 1
AMOUNT = re.compile(r"\d{1,16}(?:\.\d+)?")


def currency_field(values: dict[str, str], name: str = "currency") -> str:
    """The currency a form names, upper-cased; refused beside the field unless ISO 4217."""
    code = values.get(name, "").strip().upper()
    if code not in ISO_4217:
        shown = f"{code!r} is not" if code else "Give"
        raise Refused(
            {name: f"{shown} a currency code: three letters from ISO 4217, such as EUR or USD."}
        )
    return code


def to_minor(raw: str, currency: str) -> int | None:
    """'1500.50' in EUR → 150050; None when it is not an amount in that currency."""
    text = raw.strip().replace(",", "").replace(" ", "").replace("_", "")
    if not AMOUNT.fullmatch(text):
        return None
    try:
        scaled = Decimal(text).scaleb(exponent(currency))
    except InvalidOperation:
        return None
    if scaled != scaled.to_integral_value() or scaled > MAX_MINOR:
        return None
    return int(scaled)


def amount_field(values: dict[str, str], name: str, label: str, currency: str) -> int:
    """An amount field in major units, as minor units; refused beside the field."""
    minor = to_minor(values.get(name, ""), currency)
    if minor is None:
        places = exponent(currency)
        example = "1500" if places == 0 else "1500." + "5".ljust(places, "0")
        raise Refused(
            {name: f"{label} must be an amount in {currency} such as {example}"
                   f" (at most {places} decimal places)."}
        )  # fmt: skip
    return minor


def money(price: dict[str, object] | None) -> str:
    """A price as people read it: '1,500.50 EUR'."""
    if not price:
        return "—"
    currency = str(price.get("currency", ""))
    amount = price.get("amount")
    if not isinstance(amount, int):
        return "—"
    return f"{major(amount, currency)} {currency}"


def plain(amount: int, currency: str) -> str:
    """An amount in major units as a form field holds it: '1500.5' → '1500.50', no commas."""
    return major(amount, currency).replace(",", "")
