"""The visibility rule read once per page, for pages that filter many queries by it.

``accounts.visibility.visible_account_ids`` is a subquery (owned and served accounts, then every
account below them through the closure table). Used as ``account_id IN (subquery)`` it is evaluated
again by every query of a page, and PostgreSQL cannot estimate it: the closure probe is planned at
~20 rows where a manager's book has ~2,400 accounts, so each query starts from the book, joins every
visible account and sorts them all, even for "the 10 latest meetings". On the 100,000-account dataset
that made each of the manager's home-page queries cost 30–110 ms.

``Visibility.of(user)`` runs that same subquery once and keeps the ids; each query then says
``account_id = ANY(<array of ids>)``. The planner knows how many ids there are, so "the latest
meetings", "top accounts" or "renewals due" walk their own index and check each row against the
array (hashed), stopping after one page: 2–8 ms instead of 50–110 ms each. The rule itself is
unchanged (same function, same ids, same request); executives and administrators (everything
visible) get no condition and no query.

A book larger than ``MAX_IDS`` accounts falls back to the subquery, so a page never ships an
enormous array.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from accounts.visibility import visible_account_ids
from kam.sql import any_of

MAX_IDS = 20_000


@dataclass(frozen=True)
class Visibility:
    """The accounts one user may see: everything (``ids is None and subquery is None``), a list of
    ids, or, for a very large book, the rule's subquery."""

    ids: list[int] | None = None
    subquery: Any = None

    @classmethod
    def of(cls, user: Any) -> Visibility:
        subquery = visible_account_ids(user)
        if subquery is None:
            return cls()
        ids = set(subquery.order_by()[: MAX_IDS + 1].values_list("descendant_id", flat=True))
        if len(ids) > MAX_IDS:
            return cls(subquery=subquery)
        return cls(ids=sorted(ids))

    @property
    def sees_all(self) -> bool:
        return self.ids is None and self.subquery is None

    def q(self, lookup: str) -> Q:
        """The condition on an account id column, ``lookup`` (``"account_id"``, ``"plan__account_id"``…)."""
        if self.ids is not None:
            return Q(any_of(lookup, self.ids))
        if self.subquery is not None:
            return Q(**{f"{lookup}__in": self.subquery})
        return Q()

    def filter(self, queryset: QuerySet) -> QuerySet:
        """``queryset.visible_to(user)``, with the ids read once: accounts by ``pk``, everything else
        by its queryset's ``account_lookup`` (``accounts.visibility.AccountScopedQuerySet``)."""
        if self.sees_all:
            return queryset
        lookup = "pk" if queryset.model._meta.label == "accounts.Account" else queryset.account_lookup
        return queryset.filter(self.q(lookup))
