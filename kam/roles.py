"""Roles (Django groups) and the permissions each one carries.

KAM has three roles. An API user is an ordinary user with a token, so it has one of these roles too.

- Administrator: configures KAM (scoring models, standards, users) and sees every account.
- Executive: sees every account and the KPI dashboards; writes little (targets, approvals).
- Account manager: sees and edits the accounts they own or serve on (``Account.objects.visible_to``).

The groups and their model permissions are created after every ``migrate`` from ``ROLE_PERMISSIONS``,
so adding a model means adding it here, not clicking in the admin.
"""

from __future__ import annotations

from typing import Any

ADMINISTRATOR = "Administrator"
EXECUTIVE = "Executive"
ACCOUNT_MANAGER = "Account manager"
ROLE_GROUPS = (ADMINISTRATOR, EXECUTIVE, ACCOUNT_MANAGER)

# (app_label, model name or "*", actions). "*" means every model of the app.
ROLE_PERMISSIONS: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    ADMINISTRATOR: [
        (app, "*", ("view", "add", "change", "delete"))
        for app in ("accounts", "tiering", "service_plans", "reports", "kam", "auth", "integrations")
    ],
    EXECUTIVE: [
        *[(app, "*", ("view",)) for app in ("accounts", "tiering", "service_plans", "reports", "kam")],
        # Executives may start the portfolio recomputes of the API's jobs/ (kam.api.jobs).
        ("kam", "jobrun", ("add",)),
    ],
    ACCOUNT_MANAGER: [
        ("accounts", "account", ("view", "add", "change")),
        ("accounts", "contact", ("view", "add", "change", "delete")),
        ("accounts", "teamrelationship", ("view", "add", "change", "delete")),
        ("accounts", "influencelink", ("view", "add", "change", "delete")),
        ("accounts", "contract", ("view", "add", "change")),
        ("accounts", "invoice", ("view", "add", "change")),
        ("accounts", "meeting", ("view", "add", "change", "delete")),
        ("accounts", "exchangerate", ("view",)),
        ("accounts", "buyingrole", ("view",)),
        ("service_plans", "*", ("view", "add", "change")),
        ("tiering", "*", ("view",)),
        ("reports", "*", ("view",)),
        ("kam", "jobrun", ("view",)),
    ],
}
# Managers remove the whitespace cells of their plans (DOMAIN.md §7.2); other plan records are not deleted.
ROLE_PERMISSIONS[ACCOUNT_MANAGER].append(("service_plans", "whitespacecell", ("delete",)))
# Executives set the KPI targets (reports issue).
ROLE_PERMISSIONS[EXECUTIVE].append(("reports", "kpitarget", ("view", "add", "change", "delete")))
# Tier and health overrides need an approver (DOMAIN.md §1.8, §9): administrators and executives.
ROLE_PERMISSIONS[ADMINISTRATOR].append(("tiering", "*", ("approve",)))
ROLE_PERMISSIONS[EXECUTIVE].append(("tiering", "*", ("approve",)))
# Executives may ask for a KPI recompute ("Recompute now" on the dashboard: a new KPI run).
ROLE_PERMISSIONS[EXECUTIVE].append(("reports", "kpirun", ("add",)))
# Import records: administrators look after them in the admin (deleting one deletes its files).
ROLE_PERMISSIONS[ADMINISTRATOR].append(("imports", "importrecord", ("view", "delete")))
# Saved views: people manage their own in the list; administrators tidy up shared ones in the admin.
ROLE_PERMISSIONS[ADMINISTRATOR].append(("web", "savedview", ("view", "change", "delete")))


def _group_names(user: Any) -> frozenset[str]:
    # Cached on the user object: the visibility rule asks for it on every query of a request.
    cached = getattr(user, "_kam_group_names", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True)) if user.is_authenticated else frozenset()
        user._kam_group_names = cached
    return cached


def sees_all_accounts(user: Any) -> bool:
    """Executives and administrators see the whole portfolio; everyone else only their accounts."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    return bool(_group_names(user) & {ADMINISTRATOR, EXECUTIVE})


def is_administrator(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and (user.is_superuser or ADMINISTRATOR in _group_names(user)))


def is_executive(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and EXECUTIVE in _group_names(user))


def role_of(user: Any) -> str | None:
    """The user's main role, for display and for defaults (administrator wins over executive)."""
    if is_administrator(user):
        return ADMINISTRATOR
    if is_executive(user):
        return EXECUTIVE
    if ACCOUNT_MANAGER in _group_names(user):
        return ACCOUNT_MANAGER
    return None


def sync_role_groups(app_config: Any = None, **_: Any) -> None:
    """Create the role groups and give each exactly the permissions in ``ROLE_PERMISSIONS``."""
    from django.apps import apps
    from django.contrib.auth.models import Group, Permission

    # post_migrate fires once per app and each app's permissions are created in its own turn,
    # so act only on the last app's signal, when all permissions exist.
    if app_config is not None and app_config is not list(apps.get_app_configs())[-1]:
        return

    perms = list(Permission.objects.select_related("content_type"))
    for group_name, grants in ROLE_PERMISSIONS.items():
        wanted = set()
        for app_label, model, actions in grants:
            for perm in perms:
                ct = perm.content_type
                if ct.app_label != app_label or (model != "*" and ct.model != model):
                    continue
                if perm.codename.split("_", 1)[0] in actions:
                    wanted.add(perm.pk)
        group, _ = Group.objects.get_or_create(name=group_name)
        current = set(group.permissions.values_list("pk", flat=True))
        if current != wanted:
            group.permissions.set(wanted)


def remember_group_names(user: Any, names: Any) -> None:
    """Give ``user`` its group names read by another query (the API token's), saving the groups query."""
    user._kam_group_names = frozenset(names)


def group_names(user: Any) -> frozenset[str]:
    """The names of the user's groups (roles), cached on the user object like the visibility rule's."""
    return _group_names(user)
