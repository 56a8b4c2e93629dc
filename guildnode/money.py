"""Money in records: whole numbers of a currency's minor unit, and an ISO 4217 code.

Pure. `ISO_4217` is the set of currencies a brief, offer or payment may name for effect
(SPEC §6.8); `exponent` is each currency's number of decimal places (ISO 4217's minor unit),
so amounts can be shown as people read them: `format_money(150050, "EUR")` → "1,500.50 EUR".
"""

from __future__ import annotations

from decimal import Decimal

# ISO 4217 active currency codes (2024).
ISO_4217 = frozenset(
    (
        "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
        "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
        "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
        "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
        "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD",
        "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
        "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
        "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
        "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR",
        "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB",
        "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS",
        "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
    )
)  # fmt: skip

# Currencies whose minor unit is not a hundredth; every other code has 2 decimals.
EXPONENTS = {
    **dict.fromkeys(
        ["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
         "VND", "VUV", "XAF", "XOF", "XPF"],
        0,
    ),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    "CLF": 4,
    "UYW": 4,
}  # fmt: skip


def exponent(currency: str) -> int:
    """Decimal places of `currency`'s minor unit (2 unless ISO 4217 says otherwise)."""
    return EXPONENTS.get(currency, 2)


def major(amount: int, currency: str) -> str:
    """150050, EUR → '1,500.50'; 5000, JPY → '5,000'."""
    places = exponent(currency)
    return f"{Decimal(amount).scaleb(-places):,.{places}f}"


def format_money(amount: int, currency: str) -> str:
    """150050, EUR → '1,500.50 EUR'."""
    return f"{major(amount, currency)} {currency}"
