"""Admin building blocks that apply KAM's rules inside the Django admin.

The admin is a full part of the product (managers browse it), so it obeys the same visibility rule
as every page: changelists, change forms, raw-id lookups, foreign-key choices and history views
only ever show what the user may see, and another manager's object is a 404. Saves go through the
services, so the admin cannot bypass their validation, versioning or hierarchy upkeep.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.admin.utils import unquote
from django.db import models
from django.http import Http404

from accounts.visibility import visible_account_ids
from kam.roles import sees_all_accounts


class VisibleToUserAdminMixin:
    """Limit querysets and account choices to what the request's user may see."""

    def get_queryset(self, request: Any) -> models.QuerySet:
        return super().get_queryset(request).visible_to(request.user)  # type: ignore[misc]

    def formfield_for_foreignkey(self, db_field: Any, request: Any, **kwargs: Any) -> Any:
        related = db_field.related_model
        manager = related._default_manager
        if hasattr(manager, "visible_to"):
            kwargs["queryset"] = manager.visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]

    def get_object(self, request: Any, object_id: str, from_field: str | None = None) -> Any:
        # The admin would answer 403 (delete) or redirect with "perhaps it was deleted?" (change);
        # KAM's rule is a plain 404, which does not tell an outsider whether the object exists.
        obj = super().get_object(request, object_id, from_field)  # type: ignore[misc]
        if obj is None:
            raise Http404
        return obj

    def _guard_history(self, request: Any, object_id: str) -> None:
        if not sees_all_accounts(request.user) and not self.get_queryset(request).filter(pk=unquote(object_id)).exists():
            raise Http404

    def history_view(self, request: Any, object_id: str, extra_context: Any = None) -> Any:
        self._guard_history(request, object_id)
        return super().history_view(request, object_id, extra_context)  # type: ignore[misc]

    def history_form_view(self, request: Any, object_id: str, version_id: str, extra_context: Any = None) -> Any:
        self._guard_history(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)  # type: ignore[misc]


class ServiceSaveAdminMixin:
    """Save through the app's create/update services instead of ``obj.save()``."""

    create_service: Callable[..., models.Model]
    update_service: Callable[..., models.Model]
    instance_kwarg: str
    service_fields: frozenset[str]

    def save_model(self, request: Any, obj: models.Model, form: Any, change: bool) -> None:
        names = [n for n in form.cleaned_data if n in self.service_fields and (not change or n in form.changed_data)]
        data = {name: form.cleaned_data[name] for name in names}
        if change:
            saved = type(self).update_service(**{self.instance_kwarg: obj}, actor=request.user, **data)
        else:
            saved = type(self).create_service(actor=request.user, **data)
        obj.pk = saved.pk
        obj._state.adding = False


def visible_ids_filter(user: Any, lookup: str = "account_id") -> dict[str, Any]:
    ids = visible_account_ids(user)
    return {} if ids is None else {f"{lookup}__in": ids}
