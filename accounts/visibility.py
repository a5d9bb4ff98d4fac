"""The visibility rule, defined once and used by every page, API endpoint, export and report.

An executive or administrator sees every account. Anyone else sees the accounts they own, the
accounts whose team they serve on, and every account below one of those in the group hierarchy.
Everything that hangs off an account (contacts, contracts, alerts…) is visible exactly when its
account is; an object that is not visible does not exist for that user (a 404, never a 403).
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import models
from django.db.models import F
from django.db.models.lookups import In

from kam.roles import sees_all_accounts


def visible_account_ids(user: Any) -> models.QuerySet | None:
    """A subquery of the account ids ``user`` may see, or ``None`` when they see everything."""
    if sees_all_accounts(user):
        return None
    Account = apps.get_model("accounts", "Account")
    AccountAncestry = apps.get_model("accounts", "AccountAncestry")
    AccountTeamMember = apps.get_model("service_plans", "AccountTeamMember")
    if not getattr(user, "is_authenticated", False):
        return Account.objects.none().values("pk")
    # Two index lookups (owner, team) and one closure join; no recursion at query time. A UNION
    # rather than "IN owned OR IN served": with OR PostgreSQL scans the whole closure table. The
    # roots are handed over as an array (``InArray``): for a large book (1,800 roots at 100,000
    # accounts) "IN (subquery)" still made PostgreSQL hash the whole closure table, on every query
    # of every page; the array is computed once per query and probes the (ancestor, descendant)
    # index (28 ms → 6 ms for that book, measured on the bench dataset).
    owned = Account.objects.filter(owner=user).values("pk")
    served = AccountTeamMember.objects.filter(user=user).values("account_id")
    return AccountAncestry.objects.filter(InArray(F("ancestor_id"), owned.union(served))).values("descendant_id")


class InArray(In):
    """``lhs IN (subquery)``, written ``lhs = ANY(ARRAY(subquery))`` on PostgreSQL.

    Same rows. The planner evaluates the array once (an InitPlan) and probes an index with it,
    where it would otherwise often hash-join a whole table against the subquery.
    """

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY(ARRAY{rhs})", (*lhs_params, *rhs_params)


class AccountQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> AccountQuerySet:
        ids = visible_account_ids(user)
        return self if ids is None else self.filter(pk__in=ids)

    def visible_to_by_id(self, user: Any) -> AccountQuerySet:
        """The rows of ``visible_to``, filtered as ``id = ANY(ARRAY(visible ids))`` on PostgreSQL.

        For a page in id order (the API's keyset pages) this is an index scan of the primary key
        that walks the (sorted) array and stops after the page: no join of the whole book to the
        account table and no sort of it (at 100,000 accounts, a manager's first page of 50 among
        2,400 visible accounts: 10–13 ms → 5–6 ms of SQL on the bench copy). Other orderings read
        the book through the same index (the planner sees the array as small) and sort it, as
        ``visible_to`` does. Not for one row: the array is the whole book, where ``visible_to``
        checks that row's ancestors. Used by the API's account list only; every other caller
        keeps ``visible_to``.
        """
        ids = visible_account_ids(user)
        return self if ids is None else self.filter(InArray(F("pk"), ids))

    def active(self) -> AccountQuerySet:
        return self.filter(status="active")


class AccountScopedQuerySet(models.QuerySet):
    """For models that hang off an account. Subclasses deeper in the tree override ``account_lookup``."""

    account_lookup = "account_id"

    def visible_to(self, user: Any) -> models.QuerySet:
        ids = visible_account_ids(user)
        return self if ids is None else self.filter(**{f"{self.account_lookup}__in": ids})
