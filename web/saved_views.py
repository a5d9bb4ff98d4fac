"""Saved list views: create, list (one's own and the shared ones), delete."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from web.models import SavedList, SavedView

NAME_MAX = SavedView._meta.get_field("name").max_length


def saved_view_params(list_name: str) -> frozenset[str]:
    """The query parameters a view of this list keeps: its FilterSet's filters and the sort (never a
    cursor: a saved view opens on its first page)."""
    from accounts.filters import AccountFilterSet

    filtersets = {SavedList.ACCOUNTS: AccountFilterSet}
    return frozenset(filtersets[list_name].base_filters) | {"sort", "page_size"}


def saved_view_query(list_name: str, params: Mapping[str, Iterable[str]]) -> str:
    """The list's query string from submitted parameters: known ones only, blanks dropped, in a stable order."""
    keep = saved_view_params(list_name)
    pairs = [(key, value) for key in sorted(keep) for value in params.get(key, ()) if str(value).strip()]
    return urlencode(pairs)


def saved_views_for(*, user: Any, list_name: str) -> QuerySet[SavedView]:
    """The user's own views of the list, then the ones colleagues shared."""
    return (
        SavedView.objects.filter(Q(user=user) | Q(is_shared=True), list_name=list_name)
        .select_related("user")
        .order_by("name", "id")
    )


def saved_view_create(*, user: Any, list_name: str, name: str, params: Mapping[str, Iterable[str]], is_shared: bool) -> SavedView:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": [_("Give the view a name.")]})
    if len(name) > NAME_MAX:
        raise ValidationError({"name": [_("A view's name has at most %(max)d characters.") % {"max": NAME_MAX}]})
    query = saved_view_query(list_name, params)
    if len(query) > SavedView._meta.get_field("query").max_length:
        raise ValidationError({"query": [_("These filters are too long to save as a view.")]})
    try:
        with transaction.atomic():
            return SavedView.objects.create(user=user, list_name=list_name, name=name, query=query, is_shared=is_shared)
    except IntegrityError as error:  # the unique name, also when two saves race
        raise ValidationError({"name": [_("You already have a view called “%(name)s”.") % {"name": name}]}) from error


def saved_view_delete(*, user: Any, view: SavedView) -> None:
    """Only the author deletes a view (a shared one disappears for everyone)."""
    if view.user_id != user.pk:
        raise PermissionDenied(_("Only the author of a view can delete it."))
    view.delete()
