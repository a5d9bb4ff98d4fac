"""What every workspace page's navigation shows: the unread notification count.

One query per page at most (and none when the template does not ask): a partial index on unread
notifications answers it, and it stops counting at ``UNREAD_BADGE_LIMIT`` ("99+"), so the base
template's cost stays the same however many notifications a user has piled up.
"""

from __future__ import annotations

from typing import Any

from django.utils.functional import SimpleLazyObject

from service_plans.models import Notification

UNREAD_BADGE_LIMIT = 99


def unread_badge(user: Any) -> dict[str, Any]:
    found = Notification.objects.for_user(user).unread().order_by().values("pk")[: UNREAD_BADGE_LIMIT + 1].count()
    return {"count": min(found, UNREAD_BADGE_LIMIT), "more": found > UNREAD_BADGE_LIMIT}


def notifications(request: Any) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"kam_unread": SimpleLazyObject(lambda: unread_badge(user))}
