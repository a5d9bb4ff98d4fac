"""In-app notifications and the e-mail digest: one mail per user per run, sent after commit."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from service_plans.bulkwrite import insert_rows
from service_plans.models import Notification

logger = logging.getLogger(__name__)

DIGEST_MAX_ITEMS = 50  # a first run over a large book can raise thousands; the rest are in the app


@dataclass(frozen=True)
class Note:
    user_id: int
    kind: str
    text: str
    link: str = ""
    alert_id: int | None = None


def plan_link(account_id: int) -> str:
    """The plan section of the account's page in the workspace (the admin is for administrators)."""
    return reverse("web:account_detail", args=[account_id]) + "#plan"


def notify_many(notes: Iterable[Note], *, email: bool = True) -> list[int]:
    """Store the notifications (one COPY) and, after commit, mail each user one digest of them."""
    rows = [(n.user_id, n.kind, n.text[:500], n.link, n.alert_id) for n in notes if n.user_id is not None]
    ids = insert_rows(Notification, ("user_id", "kind", "text", "link", "alert_id"), rows)
    if ids and email:
        transaction.on_commit(partial(send_digests, ids))
    return ids


def send_digests(notification_ids: list[int]) -> int:
    """Mail every user with an address the notifications listed; returns the number of mails."""
    by_user: dict[int, list[Notification]] = defaultdict(list)
    for note in Notification.objects.filter(pk__in=notification_ids, emailed_at__isnull=True).order_by("created_at", "id"):
        by_user[note.user_id].append(note)
    if not by_user:
        return 0
    users = get_user_model().objects.filter(pk__in=by_user, is_active=True).exclude(email="").only("pk", "email")
    sent: list[int] = []
    mailed = 0
    for user in users:
        notes = by_user[user.pk]
        subject = ngettext("KAM: %(count)d new notification", "KAM: %(count)d new notifications", len(notes)) % {
            "count": len(notes)
        }
        lines = [f"- {n.text}" + (f"\n  {_link(n.link)}" if n.link else "") for n in notes[:DIGEST_MAX_ITEMS]]
        if len(notes) > DIGEST_MAX_ITEMS:
            lines.append(_("… and %(count)d more in KAM.") % {"count": len(notes) - DIGEST_MAX_ITEMS})
        body = "\n".join(lines)
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
        except Exception:  # a mail server problem must not lose the in-app notifications
            logger.exception("digest to user %s failed", user.pk)
            continue
        sent.extend(n.pk for n in notes)
        mailed += 1
    if sent:
        Notification.objects.filter(pk__in=sent).update(emailed_at=timezone.now())
    return mailed


def _link(link: str) -> str:
    base = getattr(settings, "KAM_SITE_URL", "")
    return f"{base}{link}" if link.startswith("/") else link


def notification_unread_count(*, user: Any) -> int:
    return Notification.objects.for_user(user).unread().count()


def notification_list(*, user: Any, unread_only: bool = False) -> Any:
    qs = Notification.objects.for_user(user)
    return qs.unread() if unread_only else qs


@transaction.atomic
def notification_mark_read(*, user: Any, ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications read (all of them when ``ids`` is None); others' are untouched."""
    qs = Notification.objects.for_user(user).unread()
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(read_at=timezone.now())
