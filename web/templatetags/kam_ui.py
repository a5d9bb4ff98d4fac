"""Display helpers: numbers, money and percentages formatted for the active language, "—" for nothing.

Django's zh_Hans number format has no thousands separator; CLDR (and Chinese business use) groups
digits by three with a comma, so numbers are formatted here with each language's CLDR convention.
Currency symbols follow CLDR too: CNY is "¥" in Chinese but "CN¥" in English, where "¥" alone is
ambiguous with the yen.
"""

from __future__ import annotations

import functools
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils import numberformat
from django.utils.translation import get_language

register = template.Library()

DASH = "—"

# (decimal separator, thousands separator, grouping) per language.
NUMBER_STYLE = {"en": (".", ",", 3), "zh-hans": (".", ",", 3)}
CURRENCY_SYMBOLS = {
    "en": {"CNY": "CN¥", "USD": "$", "EUR": "€", "HKD": "HK$", "JPY": "¥", "GBP": "£", "SGD": "SGD\u00a0"},
    "zh-hans": {"CNY": "¥", "USD": "US$", "EUR": "€", "HKD": "HK$", "JPY": "JP¥", "GBP": "£", "SGD": "SGD\u00a0"},
}
ZERO_DECIMAL_CURRENCIES = {"JPY", "KRW"}


def _language() -> str:
    language = (get_language() or "en").lower()
    return language if language in NUMBER_STYLE else "en"


def format_number(value: Any, decimals: int = 0) -> str:
    if value is None or value == "":
        return DASH
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    # Django's numberformat cuts the decimals off; round first so 2.5 shows as 3, not 2.
    number = number.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    decimal_sep, thousand_sep, grouping = NUMBER_STYLE[_language()]
    return numberformat.format(
        number, decimal_sep, decimal_pos=decimals, grouping=grouping, thousand_sep=thousand_sep, force_grouping=True
    )


def format_money(value: Any, currency: str, decimals: int | None = 0) -> str:
    if value is None or value == "":
        return DASH
    if currency in ZERO_DECIMAL_CURRENCIES:
        decimals = 0
    digits = format_number(value, decimals or 0)
    negative = digits.startswith("-")
    digits = digits.lstrip("-")
    symbol = CURRENCY_SYMBOLS[_language()].get(currency)
    text = f"{symbol}{digits}" if symbol else f"{currency}\u00a0{digits}"
    return f"-{text}" if negative else text


@register.filter
def num(value: Any, decimals: int = 0) -> str:
    """``{{ value|num }}`` or ``{{ value|num:1 }}``: grouped digits, "—" for None."""
    return format_number(value, int(decimals))


@register.filter
def money(value: Any, currency: str) -> str:
    """``{{ amount|money:currency }}``: whole units with the currency's symbol for the language."""
    return format_money(value, currency or "")


@register.filter
def money2(value: Any, currency: str) -> str:
    """Like ``money`` with cents, for single amounts in detail views."""
    return format_money(value, currency or "", decimals=2)


@register.filter
def pct(value: Any, decimals: int = 0) -> str:
    """A fraction (0.923) as a percentage (92%)."""
    if value is None or value == "":
        return DASH
    return f"{format_number(Decimal(str(value)) * 100, int(decimals))}%"


@register.filter
def dash(value: Any) -> Any:
    """The value, or "—" when it is empty (None or blank), as DOMAIN.md §0.1 asks for missing figures."""
    return DASH if value is None or value == "" else value


@register.simple_tag(takes_context=True)
def json_data(context: template.Context, value: Any, element_id: str) -> str:
    """A ``<script type="application/json">`` data block for the page's JavaScript, with the CSP nonce.

    Data blocks are never executed; charts and widgets read them with ``JSON.parse`` from kam's static
    JavaScript, so the page needs no inline script.
    """
    from django.utils.html import format_html, json_script
    from django.utils.safestring import mark_safe

    script = json_script(value, element_id)
    nonce = context.get("csp_nonce")
    if nonce is not None:  # a LazyNonce is falsy until used: using it here makes the middleware send it
        # Safe: json_script escaped the data and format_html the nonce.
        script = mark_safe(script.replace("<script ", format_html('<script nonce="{}" ', nonce), 1))  # noqa: S308
    return script


@register.filter
def attr_label(form: Any, name: str) -> Any:
    """The label of a form's field by name (for error summaries)."""
    field = form.fields.get(name) if hasattr(form, "fields") else None
    return field.label if field is not None and field.label else name


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    return mapping.get(key) if hasattr(mapping, "get") else None


@functools.lru_cache(maxsize=512)
def _choice_labels(model: type, field_name: str, language: str) -> dict[Any, str]:
    return {value: str(label) for value, label in model._meta.get_field(field_name).flatchoices}


@register.filter
def label(obj: Any, field_name: str) -> Any:
    """``{{ alert|label:"priority" }}``: what ``get_priority_display()`` shows, for lists.

    ``get_FOO_display`` rebuilds and translates the field's whole choice list on every call (200
    times for a page of 50 alerts); this looks the label up in a table built once per language.
    """
    if obj is None:
        return ""
    value = getattr(obj, field_name)
    return _choice_labels(type(obj), field_name, get_language() or "").get(value, value)
