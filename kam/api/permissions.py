"""Who may do what through the API. Visibility (404) is handled by querysets, not here."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.apps import apps
from django.utils.translation import gettext_lazy as _
from rest_framework import permissions
from rest_framework.request import Request

from integrations.models import ApiToken, TokenScope
from kam.roles import ROLE_PERMISSIONS, group_names, sees_all_accounts

# Model permission actions required per HTTP method (``view`` for reads: ROLE_PERMISSIONS grants it).
METHOD_ACTIONS = {
    "GET": ("view",),
    "HEAD": ("view",),
    "OPTIONS": (),
    "POST": ("add",),
    "PUT": ("change",),
    "PATCH": ("change",),
    "DELETE": ("delete",),
}


class TokenScopePermission(permissions.BasePermission):
    """A read-only token may read, never write (403)."""

    message = _("This token is read-only: use a token with the write scope to change data.")

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth
        if isinstance(token, ApiToken) and token.scope != TokenScope.WRITE:
            return request.method in permissions.SAFE_METHODS
        return True


@cache
def role_grants() -> dict[str, frozenset[str]]:
    """Role (group name) → the ``app.action_model`` permissions ``kam.roles.ROLE_PERMISSIONS`` gives it."""
    grants: dict[str, set[str]] = {}
    for role, rules in ROLE_PERMISSIONS.items():
        granted = grants.setdefault(role, set())
        for app_label, model_name, actions in rules:
            try:
                models = apps.get_app_config(app_label).get_models()
            except LookupError:
                continue
            for model in models:
                if model_name in {"*", model._meta.model_name}:
                    granted.update(f"{app_label}.{action}_{model._meta.model_name}" for action in actions)
    return {role: frozenset(perms) for role, perms in grants.items()}


def user_has_perms(user: Any, perms: list[str]) -> bool:
    """``user.has_perms`` with a fast path: the role groups' grants are known from ``kam.roles``.

    The groups are synchronised from ``ROLE_PERMISSIONS`` after every migrate, so checking the code
    answers the same without the two permission queries per request. Only when the roles do not
    grant it are the database permissions consulted (individually granted permissions still count).
    """
    if not perms or (user.is_active and user.is_superuser):
        return bool(user.is_active)
    granted = frozenset().union(*(role_grants().get(name, frozenset()) for name in group_names(user)))
    return set(perms) <= granted or user.has_perms(perms)


class RolePermission(permissions.BasePermission):
    """The user's role must grant the model permissions the action needs (``kam.roles``).

    Views declare extra needs per action in ``action_permissions`` (``{"renew": [...]}``) or
    compute them in ``get_required_permissions``.
    """

    message = _("Your role does not allow this.")

    def has_permission(self, request: Request, view: Any) -> bool:
        required = view.get_required_permissions(request) if hasattr(view, "get_required_permissions") else []
        return bool(request.user and user_has_perms(request.user, required))


class SeesAllAccounts(permissions.BasePermission):
    """Executives and administrators only: reports that judge the whole portfolio (account managers 403)."""

    message = _("Only executives and administrators may read this report.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return sees_all_accounts(request.user)


def model_permissions(model: Any, actions: tuple[str, ...]) -> list[str]:
    opts = model._meta
    return [f"{opts.app_label}.{action}_{opts.model_name}" for action in actions]
