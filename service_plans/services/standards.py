"""Versioned configuration: service standards and playbooks are never edited once used (DOMAIN.md §9)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from service_plans.models import PlaybookTaskTemplate, PlaybookTemplate, ServiceRequest, ServiceStandard, SlaTarget

STANDARD_FIELDS = frozenset({"calendar", "review_cadence", "required_roles", "included_services"})


def standard_is_used(standard: ServiceStandard) -> bool:
    return standard.plans.exists() or ServiceRequest.objects.filter(sla_standard=standard).exists()


@transaction.atomic
def service_standard_revise(
    *, standard: ServiceStandard, actor: Any = None, sla_targets: dict[str, tuple[int, int]] | None = None, **changes: Any
) -> ServiceStandard:
    """Create the next version of a tier's standard with ``changes`` and make it the active one.

    ``sla_targets`` maps priorities to (first response, resolution) business minutes; priorities not
    named keep the previous version's targets. Plans and requests keep the version they used.
    """
    unknown = set(changes) - STANDARD_FIELDS
    if unknown:
        raise TypeError(f"not writable here: {', '.join(sorted(unknown))}")
    # Lock the tier's versions so two revisions cannot take the same number.
    list(ServiceStandard.objects.select_for_update().filter(tier=standard.tier).values_list("pk", flat=True))
    latest = ServiceStandard.objects.filter(tier=standard.tier).aggregate(v=Max("version"))["v"] or 0
    new = ServiceStandard(
        tier=standard.tier,
        version=latest + 1,
        is_active=True,
        calendar=changes.get("calendar", standard.calendar),
        review_cadence=changes.get("review_cadence", standard.review_cadence),
        required_roles=changes.get("required_roles", standard.required_roles),
        included_services=changes.get("included_services", standard.included_services),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    new.full_clean(exclude=["is_active"])
    ServiceStandard.objects.filter(tier=standard.tier, is_active=True).update(is_active=False)
    new.save()
    targets = {t.priority: (t.first_response_minutes, t.resolution_minutes) for t in standard.sla_targets.all()}
    targets.update(sla_targets or {})
    rows = [SlaTarget(standard=new, priority=p, first_response_minutes=a, resolution_minutes=b) for p, (a, b) in targets.items()]
    for row in rows:
        row.full_clean(exclude=["standard"])
    SlaTarget.objects.bulk_create(rows)
    return new


@transaction.atomic
def playbook_new_version(*, playbook: PlaybookTemplate, actor: Any = None) -> PlaybookTemplate:
    """Copy a playbook and its tasks into the next version, which becomes the active one.

    Edit the copy; alerts that used the old version keep it and their tasks never change.
    """
    if not playbook.is_active:
        raise ValidationError({"is_active": [_("Only the active version of a playbook can be copied.")]})
    latest = PlaybookTemplate.objects.filter(code=playbook.code).aggregate(v=Max("version"))["v"] or 0
    tasks = list(playbook.tasks.all())
    PlaybookTemplate.objects.filter(code=playbook.code, is_active=True).update(is_active=False)
    new = PlaybookTemplate.objects.create(
        code=playbook.code, name=playbook.name, rule=playbook.rule, reason=playbook.reason, version=latest + 1, is_active=True
    )
    for task in tasks:
        task.pk = None
        task.playbook = new
    PlaybookTaskTemplate.objects.bulk_create(tasks)
    return new


PLAYBOOK_TASK_FIELDS = frozenset(
    {"order", "title", "description", "owner_role", "due_offset_days", "required", "evidence_required"}
)


@transaction.atomic
def playbook_create(
    *, code: str, name: str, rule: str, reason: str = "", tasks: Iterable[dict[str, Any]] = (), actor: Any = None
) -> PlaybookTemplate:
    """A new playbook (version 1, active) with its task templates.

    A code already in use is refused: the next version of a playbook is made with
    ``playbook_new_version`` so that alerts keep the version they used.
    """
    if PlaybookTemplate.objects.filter(code=code).exists():
        message = _("A playbook with this code exists already; make a new version of it instead.")
        raise ValidationError({"code": ValidationError(message, code="unique")})
    playbook = PlaybookTemplate(code=code, name=name, rule=rule, reason=reason, version=1, is_active=True)
    playbook.full_clean()
    playbook.save()
    rows = []
    for index, fields in enumerate(tasks):
        unknown = set(fields) - PLAYBOOK_TASK_FIELDS
        if unknown:
            raise TypeError(f"not writable here: {', '.join(sorted(unknown))}")
        row = PlaybookTaskTemplate(playbook=playbook, **{"order": index + 1, **fields})
        try:
            row.full_clean(exclude=["playbook"])
        except ValidationError as exc:
            raise ValidationError({f"tasks[{index}]": exc.messages}) from exc
        rows.append(row)
    PlaybookTaskTemplate.objects.bulk_create(rows)
    return playbook
