"""Writes to accounts and what hangs off them.

Every write validates the whole object first (``full_clean``: field rules, cross-field rules and the
database constraints checked in Python) inside one transaction, so bad input gets a message naming
the field and nothing is half-written. Updates take the row lock and can check the version the
caller read (``expected_version``), so concurrent edits are refused rather than lost.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import ContractStatus
from accounts.hierarchy import hierarchy_attach, hierarchy_move
from accounts.models import (
    Account,
    AccountAncestry,
    BuyingRole,
    Contact,
    Contract,
    ExchangeRate,
    InfluenceLink,
    Invoice,
    Meeting,
    TeamRelationship,
)
from kam.errors import Conflict, StaleVersion
from kam.events import publish
from kam.roles import is_administrator

ACCOUNT_FIELDS = frozenset(
    {
        "name", "external_id", "parent", "parent_id", "owner", "owner_id", "industry", "region", "currency", "status",
        "credit_rating", "payment_terms_days", "market_influence", "integration_potential", "relationship_stage",
        "wallet_estimate_amount", "notes",
    }
)  # fmt: skip
CONTACT_FIELDS = frozenset(
    {
        "account", "account_id", "name", "email", "phone", "title", "department", "influence", "support", "coverage",
        "political_status", "decision_orientation", "reports_to", "reports_to_id", "is_active", "left_on", "replaced_by",
        "replaced_by_id",
    }
)  # fmt: skip
CONTRACT_FIELDS = frozenset(
    {
        "account", "account_id", "number", "title", "start_date", "end_date", "annual_value", "currency", "status",
        "renewal_of", "renewal_of_id", "superseded_by", "superseded_by_id", "signed_on", "notice_on", "auto_renew", "is_customised_solution", "escalator_pct",
    }
)  # fmt: skip
INVOICE_FIELDS = frozenset(
    {
        "account", "account_id", "contract", "contract_id", "number", "issued_on", "due_on", "amount", "currency",
        "margin_amount", "quantity", "paid_on", "written_off_amount", "written_off_on", "is_disputed",
    }
)  # fmt: skip
MEETING_FIELDS = frozenset({"account", "account_id", "kind", "occurred_at", "title", "summary", "decisions", "created_by"})


def _check_fields(fields: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(fields) - allowed)
    if unknown:
        # A programming error, not user input: callers pass allow-listed fields only.
        raise TypeError(f"not writable here: {', '.join(unknown)}")


def _save_new[M: models.Model](instance: M, actor: Any) -> M:
    instance.full_clean()
    if actor is not None:
        instance._history_user = actor  # simple-history records who made the change
    instance.save()
    return instance


def _save_changes[M: models.Model](
    model: type[M], pk: int, fields: dict[str, Any], *, actor: Any, expected_version: int | None
) -> tuple[M, M]:
    """Lock the row, check the version, apply ``fields``, validate and save. Returns (before, after)."""
    locked = model.objects.select_for_update().get(pk=pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleVersion(locked.version)
    before = copy.copy(locked)
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.full_clean()
    locked.version = F("version") + 1
    if actor is not None:
        locked._history_user = actor
    locked.save()
    locked.refresh_from_db()
    return before, locked


@transaction.atomic
def account_create(*, actor: Any = None, **fields: Any) -> Account:
    _check_fields(fields, ACCOUNT_FIELDS)
    account = _save_new(Account(**fields), actor)
    hierarchy_attach(account)
    return account


@transaction.atomic
def account_update(*, account: Account, actor: Any = None, expected_version: int | None = None, **fields: Any) -> Account:
    _check_fields(fields, ACCOUNT_FIELDS)
    owners = None
    if {"owner", "owner_id"} & set(fields):
        from service_plans.services.alerts import alert_work_follow_roles, role_owners

        owners = role_owners(account_id=account.pk)
    before, after = _save_changes(Account, account.pk, fields, actor=actor, expected_version=expected_version)
    if before.parent_id != after.parent_id:
        hierarchy_move(after, after.parent_id)
    if owners is not None and before.owner_id != after.owner_id:
        # The account manager is every role's fallback owner (§5.3): their open alert work follows.
        alert_work_follow_roles(account_id=after.pk, before=owners, after=role_owners(account_id=after.pk), actor=actor)
    return after


@transaction.atomic
def contact_create(*, actor: Any = None, buying_roles: Iterable[str] = (), **fields: Any) -> Contact:
    _check_fields(fields, CONTACT_FIELDS)
    contact = _save_new(Contact(**fields), actor)
    _set_buying_roles(contact, buying_roles)
    return contact


@transaction.atomic
def contact_update(
    *,
    contact: Contact,
    actor: Any = None,
    expected_version: int | None = None,
    buying_roles: Iterable[str] | None = None,
    **fields: Any,
) -> Contact:
    _check_fields(fields, CONTACT_FIELDS)
    before, after = _save_changes(Contact, contact.pk, fields, actor=actor, expected_version=expected_version)
    if before.account_id != after.account_id:
        # Influence and conflict lines join contacts of one account (§6.2): a contact who moves to
        # another account leaves theirs behind, or the old account's map would name a stranger.
        InfluenceLink.objects.filter(Q(from_contact=after) | Q(to_contact=after)).delete()
    if buying_roles is not None:
        _set_buying_roles(after, buying_roles)
    return after


def _set_buying_roles(contact: Contact, codes: Iterable[str]) -> None:
    codes = list(dict.fromkeys(codes))
    known = set(BuyingRole.objects.filter(code__in=codes).values_list("code", flat=True))
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise ValidationError({"buying_roles": [_("Unknown buying role: %(codes)s.") % {"codes": ", ".join(unknown)}]})
    contact.buying_roles.set(codes)


@transaction.atomic
def contract_create(*, actor: Any = None, **fields: Any) -> Contract:
    _check_fields(fields, CONTRACT_FIELDS)
    return _save_new(Contract(**fields), actor)


@transaction.atomic
def contract_update(*, contract: Contract, actor: Any = None, expected_version: int | None = None, **fields: Any) -> Contract:
    _check_fields(fields, CONTRACT_FIELDS)
    return _save_changes(Contract, contract.pk, fields, actor=actor, expected_version=expected_version)[1]


@transaction.atomic
def invoice_create(*, actor: Any = None, **fields: Any) -> Invoice:
    _check_fields(fields, INVOICE_FIELDS)
    return _save_new(Invoice(**fields), actor)


@transaction.atomic
def invoice_update(*, invoice: Invoice, actor: Any = None, expected_version: int | None = None, **fields: Any) -> Invoice:
    _check_fields(fields, INVOICE_FIELDS)
    return _save_changes(Invoice, invoice.pk, fields, actor=actor, expected_version=expected_version)[1]


@transaction.atomic
def meeting_create(
    *, actor: Any = None, contacts: Iterable[Contact] = (), attendees: Iterable[Any] = (), **fields: Any
) -> Meeting:
    _check_fields(fields, MEETING_FIELDS)
    meeting = Meeting(**fields)
    meeting.full_clean()
    contacts = list(contacts)
    strangers = [c.name for c in contacts if c.account_id != meeting.account_id]
    if strangers:
        raise ValidationError({"contacts": [_("Not contacts of this account: %(names)s.") % {"names": ", ".join(strangers)}]})
    meeting.save()
    meeting.contacts.set(contacts)
    meeting.attendees.set(list(attendees))
    return meeting


@transaction.atomic
def exchange_rate_set(*, currency: str, year: int, rate_to_base: Any) -> ExchangeRate:
    rate = ExchangeRate.objects.filter(currency=currency, year=year).first() or ExchangeRate(currency=currency, year=year)
    rate.rate_to_base = rate_to_base
    rate.full_clean()
    rate.save()
    return rate


MEETING_UPDATE_FIELDS = MEETING_FIELDS - {"account", "account_id", "created_by"}


@transaction.atomic
def meeting_update(
    *,
    meeting: Meeting,
    actor: Any = None,
    expected_updated_at: Any = None,
    contacts: Iterable[Contact] | None = None,
    attendees: Iterable[Any] | None = None,
    **fields: Any,
) -> Meeting:
    """Update a meeting. Meetings carry no version column, so the caller's stale check compares the
    ``updated_at`` it read (``expected_updated_at``) with the locked row's."""
    _check_fields(fields, MEETING_UPDATE_FIELDS)
    locked = Meeting.objects.select_for_update().get(pk=meeting.pk)
    if expected_updated_at is not None and locked.updated_at != expected_updated_at:
        raise StaleVersion(0)
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.full_clean()
    if contacts is not None:
        contacts = list(contacts)
        strangers = [c.name for c in contacts if c.account_id != locked.account_id]
        if strangers:
            raise ValidationError({"contacts": [_("Not contacts of this account: %(names)s.") % {"names": ", ".join(strangers)}]})
    locked.save()
    if contacts is not None:
        locked.contacts.set(contacts)
    if attendees is not None:
        locked.attendees.set(list(attendees))
    return locked


TEAM_MEMBER_FIELDS = frozenset({"role", "since"})


@transaction.atomic
def team_member_add(*, account: Account, user: Any, role: str, since: Any = None, actor: Any = None) -> Any:
    """Put ``user`` on the account's team (which makes the account visible to them, §5.3/§7.5)."""
    from service_plans.models import AccountTeamMember
    from service_plans.services.alerts import alert_work_follow_roles, role_owners

    before = role_owners(account_id=account.pk)
    member = AccountTeamMember(account=account, user=user, role=role, since=since)
    member.full_clean()
    member.save()
    alert_work_follow_roles(account_id=account.pk, before=before, after=role_owners(account_id=account.pk), actor=actor)
    return member


@transaction.atomic
def team_member_update(*, member: Any, actor: Any = None, **fields: Any) -> Any:
    from service_plans.models import AccountTeamMember
    from service_plans.services.alerts import alert_work_follow_roles, role_owners

    _check_fields(fields, TEAM_MEMBER_FIELDS)
    locked = AccountTeamMember.objects.select_for_update().get(pk=member.pk)
    before = role_owners(account_id=locked.account_id)
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.full_clean()
    locked.save()
    alert_work_follow_roles(
        account_id=locked.account_id, before=before, after=role_owners(account_id=locked.account_id), actor=actor
    )
    return locked


@transaction.atomic
def team_member_remove(*, member: Any, actor: Any = None) -> None:
    """Take ``user`` off the account's team (the account stops being visible to them through it).

    Their open alerts and tasks in that role go to whoever the role resolves to now (§5.3), so no work
    is left with someone who may no longer see the account."""
    from service_plans.services.alerts import alert_work_follow_roles, role_owners

    before = role_owners(account_id=member.account_id)
    member.delete()
    alert_work_follow_roles(
        account_id=member.account_id, before=before, after=role_owners(account_id=member.account_id), actor=actor
    )


TEAM_RELATIONSHIP_FIELDS = frozenset({"level_current", "level_target", "last_interaction_on"})


def _check_relationship_user(contact: Contact, user: Any) -> None:
    # One of our people who works on the account: a relationship nobody on the account can act on
    # would only inflate the gap.
    if not getattr(user, "is_active", False) or not Account.objects.visible_to(user).filter(pk=contact.account_id).exists():
        raise ValidationError({"user": [_("Choose an active colleague who works on the account.")]})


def may_manage_relationships_of_others(actor: Any, contact: Contact) -> bool:
    """The account's owner (or the owner of its group above it) and administrators record colleagues'
    relationship levels; everyone else records only their own (each of our people says where they stand)."""
    return (
        is_administrator(actor)
        or AccountAncestry.objects.filter(descendant_id=contact.account_id, ancestor__owner_id=actor.pk).exists()
    )


def _check_relationship_actor(actor: Any, contact: Contact, user_id: int) -> bool:
    """True when ``actor`` may write the relationship of ``user_id`` (no actor: a trusted caller)."""
    if actor is None or getattr(actor, "pk", None) is None or actor.pk == user_id:
        return True
    return may_manage_relationships_of_others(actor, contact)


@transaction.atomic
def team_relationship_create(*, contact: Contact, user: Any, actor: Any = None, **fields: Any) -> TeamRelationship:
    """Record how ``user`` stands with ``contact`` and the level we aim for (§6.2); one row per pair.

    With an ``actor``, only the account's owner (or an administrator) may record a colleague's."""
    _check_fields(fields, TEAM_RELATIONSHIP_FIELDS)
    _check_relationship_user(contact, user)
    if not _check_relationship_actor(actor, contact, user.pk):
        raise ValidationError({"user": [_("Only the account's owner can record a colleague's relationship.")]})
    if TeamRelationship.objects.filter(contact=contact, user=user).exists():
        message = _("This colleague's relationship with the contact is already recorded.")
        raise ValidationError({"user": [ValidationError(message, code="unique")]})
    relationship = TeamRelationship(contact=contact, user=user, **fields)
    relationship.full_clean()
    relationship.save()
    return relationship


@transaction.atomic
def team_relationship_update(
    *, relationship: TeamRelationship, actor: Any = None, expected_version: int | None = None, **fields: Any
) -> TeamRelationship:
    _check_fields(fields, TEAM_RELATIONSHIP_FIELDS)
    if not _check_relationship_actor(actor, relationship.contact, relationship.user_id):
        raise PermissionDenied(_("Only the account's owner can change a colleague's relationship."))
    _before, after = _save_changes(TeamRelationship, relationship.pk, fields, actor=None, expected_version=expected_version)
    return after


@transaction.atomic
def team_relationship_remove(*, relationship: TeamRelationship, actor: Any = None, expected_version: int | None = None) -> None:
    if not _check_relationship_actor(actor, relationship.contact, relationship.user_id):
        raise PermissionDenied(_("Only the account's owner can remove a colleague's relationship."))
    locked = TeamRelationship.objects.select_for_update().get(pk=relationship.pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleVersion(locked.version)
    locked.delete()


INFLUENCE_LINK_FIELDS = frozenset({"kind", "note"})


def may_edit_contacts_of(actor: Any, account_id: int) -> bool:
    """Whoever may edit the account's contacts draws its influence and conflict lines: the contact
    permission of their role (managers and administrators, not executives) on an account they see."""
    return actor.has_perm("accounts.change_contact") and Account.objects.visible_to(actor).filter(pk=account_id).exists()


def _check_influence_actor(actor: Any, account_id: int) -> None:
    # No actor: a trusted caller (the demo, a command).
    if actor is not None and getattr(actor, "pk", None) is not None and not may_edit_contacts_of(actor, account_id):
        raise PermissionDenied(_("Only someone who may edit this account's contacts can change its influence lines."))


def _check_influence_duplicate(*, from_contact_id: int, to_contact_id: int, kind: str, exclude_pk: int | None = None) -> None:
    # API.md: a conflict with existing data is a 409 (the unique constraint backs this up in a race).
    duplicates = InfluenceLink.objects.filter(from_contact_id=from_contact_id, to_contact_id=to_contact_id, kind=kind)
    if exclude_pk is not None:
        duplicates = duplicates.exclude(pk=exclude_pk)
    if duplicates.exists():
        raise Conflict(_("This line between these two contacts is already on the map."), field="to_contact")


@transaction.atomic
def influence_link_create(*, from_contact: Contact, to_contact: Contact, actor: Any = None, **fields: Any) -> InfluenceLink:
    """Draw an influence or conflict line from one contact to another of the same account (§6.1–6.2)."""
    _check_fields(fields, INFLUENCE_LINK_FIELDS)
    _check_influence_actor(actor, from_contact.account_id)
    if to_contact.pk == from_contact.pk:
        raise ValidationError({"to_contact": [_("A line joins two different contacts.")]})
    if to_contact.account_id != from_contact.account_id:
        raise ValidationError({"to_contact": [_("Choose a contact of the same account.")]})
    link = InfluenceLink(
        from_contact=from_contact,
        to_contact=to_contact,
        created_by=actor if getattr(actor, "pk", None) is not None else None,
        **fields,
    )
    link.full_clean(validate_constraints=False)  # the two constraints are checked above, with field names
    _check_influence_duplicate(from_contact_id=from_contact.pk, to_contact_id=to_contact.pk, kind=link.kind)
    if actor is not None:
        link._history_user = actor
    link.save()
    return link


@transaction.atomic
def influence_link_update(
    *, link: InfluenceLink, actor: Any = None, expected_version: int | None = None, **fields: Any
) -> InfluenceLink:
    """Change a line's kind or note; the contacts it joins are fixed (draw another line instead)."""
    _check_fields(fields, INFLUENCE_LINK_FIELDS)
    _check_influence_actor(actor, link.from_contact.account_id)
    if "kind" in fields:
        _check_influence_duplicate(
            from_contact_id=link.from_contact_id, to_contact_id=link.to_contact_id, kind=fields["kind"], exclude_pk=link.pk
        )
    return _save_changes(InfluenceLink, link.pk, fields, actor=actor, expected_version=expected_version)[1]


@transaction.atomic
def influence_link_delete(*, link: InfluenceLink, actor: Any = None, expected_version: int | None = None) -> None:
    _check_influence_actor(actor, link.from_contact.account_id)
    locked = InfluenceLink.objects.select_for_update().get(pk=link.pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleVersion(locked.version)
    if actor is not None:
        locked._history_user = actor
    locked.delete()


@transaction.atomic
def contact_delete(*, contact: Contact, actor: Any = None) -> None:
    if actor is not None:
        contact._history_user = actor
    contact.delete()


@transaction.atomic
def meeting_delete(*, meeting: Meeting, actor: Any = None) -> None:
    meeting.delete()


RENEWABLE_STATUSES = frozenset({ContractStatus.ACTIVE, ContractStatus.EXPIRED})


@transaction.atomic
def contract_renew(
    *,
    contract: Contract,
    number: str,
    actor: Any = None,
    expected_version: int | None = None,
    start_date: dt.date | None = None,
    end_date: dt.date | None = None,
    signed_on: dt.date | None = None,
    **fields: Any,
) -> Contract:
    """Create the contract that renews ``contract`` and mark the original renewed, in one transaction.

    Defaults carry the original's terms forward: the renewal starts the day after the original ends
    and runs as long; it is signed today. ``signed_on`` is the renewal date of the renewal KPIs
    (DOMAIN.md §4.4). A contract is renewed once: a second renewal is a ``Conflict``; the original's
    row lock makes two concurrent renewals queue, and the unique ``renewal_of`` backs that up.
    """
    _check_fields(fields, RENEWAL_FIELDS)
    original = Contract.objects.select_for_update().get(pk=contract.pk)
    if expected_version is not None and original.version != expected_version:
        raise StaleVersion(original.version)
    if original.status == ContractStatus.RENEWED or Contract.objects.filter(renewal_of=original).exists():
        raise Conflict(_("Contract %(number)s has already been renewed.") % {"number": original.number})
    if original.superseded_by_id is not None:
        raise Conflict(_("Contract %(number)s was replaced in a consolidation.") % {"number": original.number})
    if original.status not in RENEWABLE_STATUSES:
        raise ValidationError(
            {
                "non_field_errors": [
                    _("Only an active or expired contract can be renewed; this one is %(status)s.")
                    % {"status": original.get_status_display()}
                ]
            }
        )
    start_date = start_date or original.end_date + dt.timedelta(days=1)
    if end_date is None:
        end_date = start_date + (original.end_date - original.start_date)
    terms = {
        "title": original.title,
        "annual_value": original.annual_value,
        "currency": original.currency,
        "auto_renew": original.auto_renew,
        "is_customised_solution": original.is_customised_solution,
        "escalator_pct": original.escalator_pct,
        **fields,
    }
    renewal = _save_new(
        Contract(
            account_id=original.account_id,
            number=number,
            start_date=start_date,
            end_date=end_date,
            signed_on=signed_on or timezone.localdate(),
            status=ContractStatus.ACTIVE,
            renewal_of=original,
            **terms,
        ),
        actor,
    )
    original.status = ContractStatus.RENEWED
    original.version = F("version") + 1
    if actor is not None:
        original._history_user = actor
    original.save(update_fields=["status", "version", "updated_at"])
    publish("contract.renewed", {"contract_id": original.pk, "renewal_id": renewal.pk, "account_id": original.account_id})
    return renewal


RENEWAL_FIELDS = frozenset({"title", "annual_value", "currency", "auto_renew", "is_customised_solution", "escalator_pct"})
