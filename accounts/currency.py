"""Currency codes and conversion rates (DOMAIN.md §0.1, §0.1a "Currency")."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

validate_currency_code = RegexValidator(
    r"^[A-Z]{3}$", _("Enter an ISO 4217 currency code: three capital letters, such as CNY or USD.")
)


def base_currency() -> str:
    return settings.KAM_BASE_CURRENCY


def currency_is_known(code: str) -> bool:
    """The base currency, or a currency with at least one exchange rate to it."""
    from accounts.models import ExchangeRate

    return code == base_currency() or ExchangeRate.objects.filter(currency=code).exists()


def validate_currency_known(code: str) -> None:
    if code and not currency_is_known(code):
        raise ValidationError(
            _("Unknown currency %(code)s: add an exchange rate for it to %(base)s first."),
            code="unknown_currency",
            params={"code": code, "base": base_currency()},
        )
