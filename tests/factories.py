"""factory_boy factories. Accounts and the rows that need validation go through the services, so
tests build data the way the app does (closure table, group root, versions included)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts import services
from accounts.models import Account, Contact, Contract, ExchangeRate, Invoice, Meeting
from kam import roles
from service_plans.models import AccountTeamMember, TeamRole


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "pw")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if extracted:
            self.groups.add(Group.objects.get_or_create(name=extracted)[0])
        if create:
            self.save()


CREATE_SERVICES = {
    Account: services.account_create,
    Contact: services.contact_create,
    Contract: services.contract_create,
    Invoice: services.invoice_create,
    Meeting: services.meeting_create,
}


class ServiceFactory(factory.django.DjangoModelFactory):
    """Create through the app's create service instead of ``Model.objects.create``."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return CREATE_SERVICES[model_class](**kwargs)


class AccountFactory(ServiceFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Account {n:04d}")
    owner = factory.SubFactory(UserFactory, role=roles.ACCOUNT_MANAGER)
    industry = "manufacturing"
    region = "East China"
    currency = "CNY"
    status = "active"
    credit_rating = "B"
    payment_terms_days = 30
    market_influence = 3
    integration_potential = 3
    relationship_stage = 3


class ContactFactory(ServiceFactory):
    class Meta:
        model = Contact

    account = factory.SubFactory(AccountFactory)
    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"contact{n}@customer.example.com")
    title = "Manager"


class ContractFactory(ServiceFactory):
    class Meta:
        model = Contract

    account = factory.SubFactory(AccountFactory)
    number = factory.Sequence(lambda n: f"C-{n:06d}")
    start_date = dt.date(2025, 1, 1)
    end_date = dt.date(2025, 12, 31)
    annual_value = Decimal("1000000.00")
    currency = "CNY"
    status = "active"


class InvoiceFactory(ServiceFactory):
    class Meta:
        model = Invoice

    account = factory.SubFactory(AccountFactory)
    number = factory.Sequence(lambda n: f"INV-{n:07d}")
    issued_on = dt.date(2025, 3, 1)
    due_on = dt.date(2025, 3, 31)
    amount = Decimal("250000.00")
    currency = "CNY"


class MeetingFactory(ServiceFactory):
    class Meta:
        model = Meeting

    account = factory.SubFactory(AccountFactory)
    kind = "meeting"
    occurred_at = factory.LazyFunction(timezone.now)
    title = "Steering meeting"


class TeamMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccountTeamMember

    account = factory.SubFactory(AccountFactory)
    user = factory.SubFactory(UserFactory, role=roles.ACCOUNT_MANAGER)
    role = TeamRole.SERVICE_LEAD


class ExchangeRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExchangeRate
        django_get_or_create = ["currency", "year"]

    currency = "USD"
    year = 2025
    rate_to_base = Decimal("7.10000000")
