from typing import Any

from django.conf import settings

from kam.roles import role_of


def kam(request: Any) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {
        "kam_role": role_of(user) if user is not None and user.is_authenticated else None,
        "kam_base_currency": settings.KAM_BASE_CURRENCY,
    }
