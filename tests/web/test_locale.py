"""Numbers, money and dates per language; enum labels translated, codes untouched."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.models import Account
from tests.factories import AccountFactory, ContactFactory
from web.templatetags.kam_ui import format_money, format_number, pct


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "CN¥1,234,568"), ("zh-hans", "¥1,234,568")],
)
def test_money_uses_the_symbol_of_the_language(language, expected):
    with translation.override(language):
        assert format_money(Decimal("1234567.89"), "CNY") == expected
        assert format_money(None, "CNY") == "—"
        assert format_money(Decimal("-5"), "USD").startswith("-")


def test_numbers_and_percentages():
    with translation.override("zh-hans"):
        assert format_number(Decimal("1234567.891"), 2) == "1,234,567.89"
        assert pct(Decimal("0.923")) == "92%"
        assert pct(None) == "—"
        assert format_money(Decimal("1000"), "JPY") == "JP¥1,000"
        assert format_money(Decimal("1000"), "XAF") == "XAF\u00a01,000"


@pytest.mark.django_db
def test_account_page_reads_in_chinese(client, account_manager):
    account = AccountFactory(owner=account_manager, industry="retail")
    Account.objects.filter(pk=account.pk).update(tier="T1", health_band="red")
    ContactFactory(account=account)
    client.force_login(account_manager)
    response = client.get(reverse("web:account_detail", args=[account.pk]), headers={"accept-language": "zh-hans"})
    text = response.text
    assert '<html lang="zh-hans">' in text
    assert "关系图谱" in text and "未识别经济决策者" in text  # section title, red flag
    assert "零售与消费品" in text and "T1 战略客户" in text and "红" in text  # enum labels translated
    assert 'data-flag="no_economic_buyer"' in text and ">T1<" in text  # codes are not
    assert "年" in text  # dates in the Chinese format (Y年n月j日)
