"""Key accounts and what KAM knows about them: hierarchy, people, contracts, invoices, meetings.

Invariants that the data must never break are database constraints (PostgreSQL enforces them even
for bulk loads and raw SQL); ``clean()`` methods repeat the ones a form can check so that users get
a message naming the field instead of an integrity error. Services (``accounts.services``) run
``full_clean`` before every write.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.choices import (
    AccountStatus,
    BuyingRoleCode,
    ContractStatus,
    Coverage,
    CreditRating,
    DecisionOrientation,
    HealthBand,
    Industry,
    InfluenceKind,
    MeetingKind,
    PoliticalStatus,
    RelationshipLevel,
    Support,
    Tier,
)
from accounts.currency import validate_currency_code, validate_currency_known
from accounts.visibility import AccountQuerySet, AccountScopedQuerySet

MONEY = {"max_digits": 18, "decimal_places": 2}
ONE_TO_FIVE = [MinValueValidator(1), MaxValueValidator(5)]


def _in_range(field: str, low: int, high: int, *, nullable: bool = False) -> Q:
    condition = Q(**{f"{field}__gte": low, f"{field}__lte": high})
    return condition | Q(**{f"{field}__isnull": True}) if nullable else condition


class Account(models.Model):
    """A customer legal entity. ``parent`` builds groups; KPIs and tiers roll up to ``group_root``.

    ``tier``, ``abc_class``, ``value_score`` and the health fields are the latest results of the
    tiering app, copied here so lists can filter and sort on them; only tiering writes them.
    """

    name = models.CharField(_("name"), max_length=200)
    external_id = models.CharField(
        _("external id"), max_length=64, blank=True, help_text=_("The account's key in your ERP or CRM, used by imports.")
    )
    parent = models.ForeignKey(
        "self", verbose_name=_("parent account"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    group_root = models.ForeignKey(
        "self", verbose_name=_("group"), null=True, blank=True, editable=False, on_delete=models.SET_NULL, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="owned_accounts",
        db_index=False,  # served by account_owner (owner, name) and account_owner_id_cover (owner, id)
    )
    industry = models.CharField(_("industry"), max_length=32, choices=Industry.choices, default=Industry.OTHER)
    region = models.CharField(_("region"), max_length=64, blank=True)
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency_code])
    status = models.CharField(_("status"), max_length=16, choices=AccountStatus.choices, default=AccountStatus.ACTIVE)
    credit_rating = models.CharField(_("credit rating"), max_length=1, choices=CreditRating.choices, blank=True)
    payment_terms_days = models.PositiveSmallIntegerField(
        _("payment terms (days)"), default=30, validators=[MaxValueValidator(365)]
    )
    market_influence = models.PositiveSmallIntegerField(
        _("market influence"), null=True, blank=True, validators=ONE_TO_FIVE, help_text=_("Committee rating 1–5.")
    )
    integration_potential = models.PositiveSmallIntegerField(
        _("integration potential"), null=True, blank=True, validators=ONE_TO_FIVE, help_text=_("Committee rating 1–5.")
    )
    relationship_stage = models.PositiveSmallIntegerField(
        _("relationship stage"),
        null=True,
        blank=True,
        validators=ONE_TO_FIVE,
        help_text=_("1 exploratory, 2 basic, 3 cooperative, 4 interdependent, 5 integrated."),
    )
    wallet_estimate_amount = models.DecimalField(
        _("3-year wallet estimate"),
        **MONEY,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Estimated spend available over three years, to us or competitors, in the account's currency."),
    )
    notes = models.TextField(_("notes"), blank=True)

    # Written by the tiering app only.
    tier = models.CharField(_("tier"), max_length=2, choices=Tier.choices, blank=True, editable=False)
    abc_class = models.CharField(_("ABC class"), max_length=1, blank=True, editable=False)
    value_score = models.DecimalField(_("value score"), max_digits=5, decimal_places=2, null=True, blank=True, editable=False)
    health_score = models.DecimalField(_("health score"), max_digits=5, decimal_places=2, null=True, blank=True, editable=False)
    health_band = models.CharField(_("health band"), max_length=8, choices=HealthBand.choices, blank=True, editable=False)

    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords(excluded_fields=["tier", "abc_class", "value_score", "health_score", "health_band", "group_root"])
    objects = AccountQuerySet.as_manager()

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        indexes = [
            models.Index(fields=["name", "id"], name="account_name"),
            models.Index(fields=["owner", "name"], name="account_owner"),
            # (column, id): each serves the column's filter and the list's keyset order on it.
            models.Index(fields=["status", "id"], name="account_status"),
            models.Index(fields=["tier", "id"], name="account_tier"),
            models.Index(fields=["health_band", "id"], name="account_health_band"),
            models.Index(fields=["region", "id"], name="account_region"),
            models.Index(fields=["industry", "id"], name="account_industry"),
            models.Index(fields=["value_score", "id"], name="account_value_score"),
            models.Index(fields=["health_score", "id"], name="account_health_score"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(parent=F("pk")), name="account_not_own_parent"),
            models.CheckConstraint(condition=Q(status__in=AccountStatus.values), name="account_status_valid"),
            models.CheckConstraint(condition=Q(credit_rating__in=[*CreditRating.values, ""]), name="account_credit_rating_a_e"),
            models.CheckConstraint(condition=Q(payment_terms_days__lte=365), name="account_payment_terms_0_365"),
            models.CheckConstraint(
                condition=_in_range("market_influence", 1, 5, nullable=True), name="account_market_influence_1_5"
            ),
            models.CheckConstraint(
                condition=_in_range("integration_potential", 1, 5, nullable=True), name="account_integration_potential_1_5"
            ),
            models.CheckConstraint(
                condition=_in_range("relationship_stage", 1, 5, nullable=True), name="account_relationship_stage_1_5"
            ),
            models.CheckConstraint(
                condition=Q(wallet_estimate_amount__gte=0) | Q(wallet_estimate_amount__isnull=True),
                name="account_wallet_non_negative",
            ),
            models.CheckConstraint(condition=_in_range("value_score", 0, 100, nullable=True), name="account_value_score_0_100"),
            models.CheckConstraint(condition=_in_range("health_score", 0, 100, nullable=True), name="account_health_score_0_100"),
            models.UniqueConstraint(fields=["external_id"], condition=~Q(external_id=""), name="account_external_id_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        if self.currency:
            try:
                validate_currency_known(self.currency)
            except ValidationError as exc:
                errors["currency"] = exc.messages
        if (
            self.parent_id is not None
            and self.pk is not None
            and (
                self.parent_id == self.pk
                or AccountAncestry.objects.filter(ancestor_id=self.pk, descendant_id=self.parent_id).exists()
            )
        ):
            errors["parent"] = [_("An account cannot be placed under itself or one of its own subsidiaries.")]
        if errors:
            raise ValidationError(errors)


class AccountAncestry(models.Model):
    """The group hierarchy as a closure table: one row per (ancestor, descendant), self included.

    It answers "everything below these accounts" in one indexed join, which the visibility rule
    needs on every query, and makes the cycle check a single lookup. Maintained by
    ``accounts.hierarchy`` only.
    """

    ancestor = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="descendant_links", db_index=False)
    descendant = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="ancestor_links", db_index=False)
    depth = models.PositiveSmallIntegerField()

    class Meta:
        verbose_name = _("account ancestry")
        verbose_name_plural = _("account ancestries")
        constraints = [models.UniqueConstraint(fields=["ancestor", "descendant"], name="ancestry_unique")]
        indexes = [models.Index(fields=["descendant", "depth"], name="ancestry_descendant")]

    def __str__(self) -> str:
        return f"{self.ancestor_id} > {self.descendant_id} ({self.depth})"


class BuyingRole(models.Model):
    """A buying role a contact can hold (DOMAIN.md §6). A table rather than a list column so that
    "accounts without an economic buyer" is one join on PostgreSQL and SQLite alike."""

    code = models.CharField(_("code"), max_length=32, primary_key=True, choices=BuyingRoleCode.choices)

    class Meta:
        verbose_name = _("buying role")
        verbose_name_plural = _("buying roles")

    def __str__(self) -> str:
        return str(self.get_code_display())


class Contact(models.Model):
    """A person at the customer, with their place in the buying decision (DOMAIN.md §6.2)."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="contacts", db_index=False
    )
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    title = models.CharField(_("title"), max_length=200, blank=True)
    department = models.CharField(_("department"), max_length=120, blank=True)
    buying_roles = models.ManyToManyField(BuyingRole, verbose_name=_("buying roles"), blank=True, related_name="contacts")
    influence = models.PositiveSmallIntegerField(_("influence"), default=3, validators=ONE_TO_FIVE)
    support = models.SmallIntegerField(_("support"), choices=Support.choices, default=Support.NEUTRAL)
    coverage = models.CharField(_("coverage"), max_length=16, choices=Coverage.choices, default=Coverage.UNKNOWN)
    political_status = models.CharField(
        _("political status"), max_length=24, choices=PoliticalStatus.choices, default=PoliticalStatus.OUTSIDE
    )
    decision_orientation = models.CharField(
        _("decision orientation"), max_length=16, choices=DecisionOrientation.choices, blank=True
    )
    reports_to = models.ForeignKey(
        "self", verbose_name=_("reports to"), null=True, blank=True, on_delete=models.SET_NULL, related_name="direct_reports"
    )
    is_active = models.BooleanField(_("active"), default=True)
    left_on = models.DateField(_("left on"), null=True, blank=True)
    replaced_by = models.ForeignKey(
        "self", verbose_name=_("replaced by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords(m2m_fields=[buying_roles])
    objects = AccountScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [models.Index(fields=["account", "is_active"], name="contact_account")]
        constraints = [
            models.CheckConstraint(condition=_in_range("influence", 1, 5), name="contact_influence_1_5"),
            models.CheckConstraint(condition=_in_range("support", -2, 2), name="contact_support_m2_2"),
            models.CheckConstraint(condition=Q(is_active=False) | Q(left_on__isnull=True), name="contact_left_only_if_inactive"),
            models.CheckConstraint(condition=~Q(reports_to=F("pk")), name="contact_not_own_manager"),
            models.CheckConstraint(condition=~Q(replaced_by=F("pk")), name="contact_not_own_replacement"),
            models.UniqueConstraint(Lower("email"), condition=~Q(email=""), name="contact_email_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, list[Any]] = {}
        if self.reports_to_id is not None:
            if self.pk is not None and self.reports_to_id == self.pk:
                errors["reports_to"] = [_("A contact cannot report to themselves.")]
            elif self.reports_to.account_id != self.account_id:
                errors["reports_to"] = [_("The manager must be a contact of the same account.")]
        if self.replaced_by_id is not None:
            if self.pk is not None and self.replaced_by_id == self.pk:
                errors["replaced_by"] = [_("A contact cannot be replaced by themselves.")]
            elif self.replaced_by.account_id != self.account_id:
                errors["replaced_by"] = [_("The replacement must be a contact of the same account.")]
        if self.is_active and self.left_on is not None:
            errors["left_on"] = [_("Only a contact who has left can have a leaving date.")]
        if errors:
            raise ValidationError(errors)


class TeamRelationshipQuerySet(AccountScopedQuerySet):
    account_lookup = "contact__account_id"


class TeamRelationship(models.Model):
    """How one of our people stands with one contact, now and where we want to be (DOMAIN.md §6.2:
    Altify's relationship levels, Vendor → Trusted advisor). Feeds ``relationship_gap`` (§6.3)."""

    contact = models.ForeignKey(Contact, verbose_name=_("contact"), on_delete=models.CASCADE, related_name="team_relationships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("colleague"), on_delete=models.CASCADE, related_name="contact_relationships"
    )
    level_current = models.PositiveSmallIntegerField(
        _("current relationship level"), choices=RelationshipLevel.choices, default=RelationshipLevel.VENDOR
    )
    level_target = models.PositiveSmallIntegerField(
        _("target relationship level"), choices=RelationshipLevel.choices, default=RelationshipLevel.VENDOR
    )
    last_interaction_on = models.DateField(_("last interaction on"), null=True, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = TeamRelationshipQuerySet.as_manager()

    class Meta:
        verbose_name = _("team relationship")
        verbose_name_plural = _("team relationships")
        constraints = [
            models.UniqueConstraint(fields=["contact", "user"], name="team_relationship_one_per_pair"),
            models.CheckConstraint(condition=_in_range("level_current", 1, 4), name="team_relationship_current_1_4"),
            models.CheckConstraint(condition=_in_range("level_target", 1, 4), name="team_relationship_target_1_4"),
        ]
        indexes = [models.Index(fields=["user"], name="team_relationship_user")]

    def __str__(self) -> str:
        return f"{self.user} – {self.contact}"


class InfluenceLinkQuerySet(AccountScopedQuerySet):
    account_lookup = "from_contact__account_id"


class InfluenceLink(models.Model):
    """An influence line or a conflict line from one contact to another of the same account (DOMAIN.md
    §6.1–6.2, Altify's relationship map): "the CFO influences the CIO", "purchasing conflicts with IT".
    Directed; both contacts belong to the same account (``accounts.services`` checks it, naming the field)."""

    from_contact = models.ForeignKey(
        Contact,
        verbose_name=_("from contact"),
        on_delete=models.CASCADE,
        related_name="influence_links_out",
        db_index=False,  # the unique (from, to, kind) index leads with it
    )
    to_contact = models.ForeignKey(
        Contact, verbose_name=_("to contact"), on_delete=models.CASCADE, related_name="influence_links_in"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=InfluenceKind.choices, default=InfluenceKind.INFLUENCES)
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords()
    objects = InfluenceLinkQuerySet.as_manager()

    class Meta:
        verbose_name = _("influence link")
        verbose_name_plural = _("influence links")
        constraints = [
            models.CheckConstraint(condition=~Q(from_contact=F("to_contact")), name="influence_link_not_self"),
            models.UniqueConstraint(fields=["from_contact", "to_contact", "kind"], name="influence_link_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.from_contact} → {self.to_contact} ({self.get_kind_display()})"

    def clean(self) -> None:
        # Repeated from the services so that the admin's form names the field too.
        if self.from_contact_id is None or self.to_contact_id is None:
            return
        if self.from_contact_id == self.to_contact_id:
            raise ValidationError({"to_contact": [_("A line joins two different contacts.")]})
        if self.to_contact.account_id != self.from_contact.account_id:
            raise ValidationError({"to_contact": [_("Choose a contact of the same account.")]})


class Contract(models.Model):
    """A contract with an annual value. ``renewal_of`` chains renewals for the renewal KPIs (§4.4).

    A consolidation (several expiring contracts replaced by one new contract, §4.4) is recorded on
    the replaced contracts: each points at the new one with ``superseded_by``. A contract is
    renewed either way, never both.
    """

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="contracts", db_index=False
    )
    number = models.CharField(_("number"), max_length=64, unique=True)
    title = models.CharField(_("title"), max_length=200, blank=True)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    annual_value = models.DecimalField(_("annual value"), **MONEY, validators=[MinValueValidator(Decimal("0"))])
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency_code])
    status = models.CharField(_("status"), max_length=16, choices=ContractStatus.choices, default=ContractStatus.ACTIVE)
    renewal_of = models.OneToOneField(
        "self", verbose_name=_("renewal of"), null=True, blank=True, on_delete=models.PROTECT, related_name="renewal"
    )
    superseded_by = models.ForeignKey(
        "self",
        verbose_name=_("superseded by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="supersedes",
        help_text=_("For a consolidation: the one new contract that replaces this one and others."),
    )
    signed_on = models.DateField(_("signed on"), null=True, blank=True)
    notice_on = models.DateField(_("notice given on"), null=True, blank=True)
    auto_renew = models.BooleanField(_("auto-renew"), default=False)
    is_customised_solution = models.BooleanField(_("customised solution"), default=False)
    escalator_pct = models.DecimalField(
        _("annual escalator %"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords()
    objects = AccountScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        indexes = [
            models.Index(fields=["account", "end_date"], name="contract_account_end"),
            models.Index(fields=["end_date"], name="contract_end"),
            models.Index(fields=["start_date"], name="contract_start"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gte=F("start_date")), name="contract_end_after_start"),
            models.CheckConstraint(condition=Q(annual_value__gte=0), name="contract_value_non_negative"),
            models.CheckConstraint(condition=Q(escalator_pct__gte=0), name="contract_escalator_non_negative"),
            models.CheckConstraint(condition=Q(status__in=ContractStatus.values), name="contract_status_valid"),
            models.CheckConstraint(condition=~Q(renewal_of=F("pk")), name="contract_not_own_renewal"),
            models.CheckConstraint(condition=~Q(superseded_by=F("pk")), name="contract_not_superseded_by_itself"),
        ]

    def __str__(self) -> str:
        return self.number

    def clean(self) -> None:
        errors: dict[str, list[Any]] = {}
        if self.start_date and self.end_date and self.end_date < self.start_date:
            errors["end_date"] = [_("The end date cannot be before the start date.")]
        if self.currency:
            try:
                validate_currency_known(self.currency)
            except ValidationError as exc:
                errors["currency"] = exc.messages
        if self.renewal_of_id is not None:
            if self.pk is not None and self.renewal_of_id == self.pk:
                errors["renewal_of"] = [_("A contract cannot renew itself.")]
            elif self.account_id and self.renewal_of.account.group_root_id != self.account.group_root_id:
                errors["renewal_of"] = [_("A renewal must belong to the same group as the contract it renews.")]
            elif self.renewal_of.superseded_by_id is not None:
                errors["renewal_of"] = [_("That contract was already replaced in a consolidation.")]
        if self.superseded_by_id is not None:
            self._clean_superseded_by(errors)
        if errors:
            raise ValidationError(errors)

    def _clean_superseded_by(self, errors: dict[str, list[Any]]) -> None:
        new = self.superseded_by
        if self.pk is not None and new.pk == self.pk:
            errors["superseded_by"] = [_("A contract cannot supersede itself.")]
        elif new.superseded_by_id is not None and new.superseded_by_id == self.pk:
            errors["superseded_by"] = [_("Two contracts cannot supersede each other.")]
        elif self.account_id and new.account.group_root_id != self.account.group_root_id:
            errors["superseded_by"] = [_("A consolidating contract must belong to the same group as the contracts it replaces.")]
        elif self.pk is not None and Contract.objects.filter(renewal_of=self.pk).exists():
            errors["superseded_by"] = [_("This contract already has a renewal; it cannot also be replaced in a consolidation.")]


class Invoice(models.Model):
    """An invoice and how it was paid (DOMAIN.md §0.1a "Receivables")."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="invoices", db_index=False
    )
    contract = models.ForeignKey(
        Contract, verbose_name=_("contract"), null=True, blank=True, on_delete=models.PROTECT, related_name="invoices"
    )
    number = models.CharField(_("number"), max_length=64, unique=True)
    issued_on = models.DateField(_("issued on"))
    due_on = models.DateField(_("due on"))
    amount = models.DecimalField(_("amount"), **MONEY, validators=[MinValueValidator(Decimal("0"))])
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency_code])
    margin_amount = models.DecimalField(
        _("gross margin"), **MONEY, null=True, blank=True, help_text=_("Gross margin on this invoice, when finance provides it.")
    )
    quantity = models.DecimalField(
        _("quantity"),
        max_digits=14,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Units invoiced (licences, tonnes, hours…), when known: the purchase-drop alert watches volume too."),
    )
    paid_on = models.DateField(_("paid on"), null=True, blank=True)
    written_off_amount = models.DecimalField(
        _("written-off amount"), **MONEY, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )
    written_off_on = models.DateField(_("written off on"), null=True, blank=True)
    is_disputed = models.BooleanField(_("disputed"), default=False)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords()
    objects = AccountScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        indexes = [
            models.Index(fields=["account", "issued_on"], name="invoice_account_issued"),
            models.Index(fields=["issued_on"], name="invoice_issued"),
            models.Index(fields=["paid_on"], name="invoice_paid"),
            models.Index(fields=["due_on"], condition=Q(paid_on__isnull=True), name="invoice_open_due"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="invoice_amount_non_negative"),
            models.CheckConstraint(condition=Q(quantity__isnull=True) | Q(quantity__gte=0), name="invoice_quantity_non_negative"),
            models.CheckConstraint(condition=Q(due_on__gte=F("issued_on")), name="invoice_due_after_issue"),
            models.CheckConstraint(
                condition=Q(paid_on__isnull=True) | Q(paid_on__gte=F("issued_on")), name="invoice_paid_after_issue"
            ),
            models.CheckConstraint(
                condition=Q(written_off_amount__gte=0) & Q(written_off_amount__lte=F("amount")),
                name="invoice_write_off_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(written_off_amount=0) | Q(written_off_on__isnull=False), name="invoice_write_off_has_date"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def clean(self) -> None:
        errors: dict[str, list[Any]] = {}
        if self.issued_on and self.due_on and self.due_on < self.issued_on:
            errors["due_on"] = [_("The due date cannot be before the issue date.")]
        if self.issued_on and self.paid_on and self.paid_on < self.issued_on:
            errors["paid_on"] = [_("The payment date cannot be before the issue date.")]
        if self.amount is not None and self.written_off_amount is not None and self.written_off_amount > self.amount:
            errors["written_off_amount"] = [_("The written-off amount cannot exceed the invoice amount.")]
        if self.written_off_amount and not self.written_off_on:
            errors["written_off_on"] = [_("Give the date of the write-off.")]
        if self.contract_id is not None and self.account_id is not None and self.contract.account_id != self.account_id:
            errors["contract"] = [_("The contract belongs to another account.")]
        if self.currency:
            try:
                validate_currency_known(self.currency)
            except ValidationError as exc:
                errors["currency"] = exc.messages
        if errors:
            raise ValidationError(errors)


class ExchangeRate(models.Model):
    """How many units of the base currency one unit of ``currency`` is worth in a fiscal ``year``.

    KPIs convert at the rate of the fiscal year they compute (constant currency, DOMAIN.md §0.1), so
    exchange-rate moves never show up as expansion or contraction.
    """

    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency_code])
    year = models.PositiveSmallIntegerField(_("fiscal year"), validators=[MinValueValidator(1990), MaxValueValidator(2200)])
    rate_to_base = models.DecimalField(
        _("rate to base currency"), max_digits=18, decimal_places=8, validators=[MinValueValidator(Decimal("0.00000001"))]
    )

    class Meta:
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        ordering = ["currency", "-year"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "year"], name="exchange_rate_unique"),
            models.CheckConstraint(condition=Q(rate_to_base__gt=0), name="exchange_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.year}: {self.rate_to_base}"


class Meeting(models.Model):
    """A meeting, call or visit with the customer; QBRs and EBRs are kinds of meeting (§7.4)."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="meetings", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=16, choices=MeetingKind.choices, default=MeetingKind.MEETING)
    occurred_at = models.DateTimeField(_("time"))
    title = models.CharField(_("title"), max_length=200, blank=True)
    summary = models.TextField(_("summary"), blank=True)
    decisions = models.TextField(_("decisions"), blank=True)
    contacts = models.ManyToManyField(Contact, verbose_name=_("customer attendees"), blank=True, related_name="meetings")
    attendees = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("internal attendees"), blank=True, related_name="meetings_attended"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = AccountScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")
        indexes = [models.Index(fields=["account", "-occurred_at"], name="meeting_account_time")]
        constraints = [models.CheckConstraint(condition=Q(kind__in=MeetingKind.values), name="meeting_kind_valid")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d}"
