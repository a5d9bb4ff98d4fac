"""``Idempotency-Key`` on POST: a retried request gets the first answer and creates nothing.

The key's row is inserted in the same transaction as the request's writes. A repeat that arrives
while the first is running blocks on the unique index until the first commits, then replays its
answer; if the first failed (rolled back, or answered with an error), the key is free again. Keys
belong to one user and expire after ``KAM_API_IDEMPOTENCY_HOURS``. The same key with another method,
path or body is a 422: it is a client bug to reuse a key for a different request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.request import Request
from rest_framework.response import Response

from integrations.models import IdempotencyKey
from kam.api.exceptions import ConflictError, Unprocessable
from kam.jobs import BackgroundUnavailable

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
KEPT_HEADERS = ("ETag", "Location")


def request_fingerprint(request: Request) -> str:
    data: Any = request.data
    if request.FILES:
        # An upload (multipart): the stream is consumed, so files count by their content's hash.
        data = {key: data.getlist(key) for key in data if key not in request.FILES}
        for key, upload in request.FILES.items():
            digest = hashlib.sha256()
            for part in upload.chunks():
                digest.update(part)
            upload.seek(0)
            data[key] = digest.hexdigest()
    try:
        body = json.dumps(data, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    except (TypeError, ValueError):
        body = request.body.decode("utf-8", "replace")
    raw = f"{request.method}\n{request.path}\n{body}"
    return hashlib.sha256(raw.encode()).hexdigest()


def _replay(record: IdempotencyKey) -> Response:
    response = Response(record.response_body, status=record.status_code)
    for name, value in record.response_headers.items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


def _existing(user: Any, key: str, fingerprint: str) -> Response | None:
    record = IdempotencyKey.objects.filter(user=user, key=key).first()
    if record is None:
        return None
    if record.fingerprint != fingerprint:
        raise Unprocessable(_("This Idempotency-Key was used for a different request; use a new key for a new request."))
    return _replay(record)


def run_idempotent(request: Request, key: str, handler: Any) -> Response:
    """Run ``handler()`` once per (user, key); replay its answer for repeats."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise Unprocessable(_("An Idempotency-Key has 1 to %(max)s characters.") % {"max": MAX_KEY_LENGTH})
    user = request.user
    fingerprint = request_fingerprint(request)
    expired_before = timezone.now() - dt.timedelta(hours=settings.KAM_API_IDEMPOTENCY_HOURS)
    IdempotencyKey.objects.filter(user=user, key=key, created_at__lt=expired_before).delete()
    replay = _existing(user, key, fingerprint)
    if replay is not None:
        return replay
    record = None
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = IdempotencyKey.objects.create(user=user, key=key, fingerprint=fingerprint)
            except IntegrityError:
                record = None  # a concurrent request with this key committed first
            if record is None:
                replay = _existing(user, key, fingerprint)
                if replay is not None:
                    return replay
                raise ConflictError(
                    {"non_field_errors": [_("A request with this Idempotency-Key is still in progress; retry shortly.")]}
                )
            response = handler()
            if 200 <= response.status_code < 300:
                IdempotencyKey.objects.filter(pk=record.pk).update(
                    status_code=response.status_code,
                    response_body=json.loads(json.dumps(response.data, cls=DjangoJSONEncoder)),
                    response_headers={h: response[h] for h in KEPT_HEADERS if response.has_header(h)},
                )
            else:
                # An error answer does not consume the key: the client may fix the request and retry.
                transaction.set_rollback(True)
            return response
    except BackgroundUnavailable:
        # Raised by an on-commit hook after the key was committed: free the key for a retry.
        if record is not None:
            IdempotencyKey.objects.filter(pk=record.pk).delete()
        raise
