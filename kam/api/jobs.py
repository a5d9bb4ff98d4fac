"""``jobs/``: start a portfolio job and follow its progress.

Who may start jobs: the three kinds of the API contract recompute the whole portfolio, so
administrators and executives may start them (``kam.add_jobrun``, granted in ``kam.roles``);
account managers may not. Everyone sees the jobs they started; administrators and executives see
all jobs.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from kam.api.exceptions import ConflictError
from kam.api.viewsets import ServiceViewSet
from kam.jobs import JOB_RUNNERS, JobAlreadyRunning, job_request
from kam.models import JobKind, JobRun
from kam.roles import sees_all_accounts

# The kinds the API starts (docs/api-contract.md); imports and exports have their own endpoints.
API_JOB_KINDS = [JobKind.RECOMPUTE_SCORES, JobKind.RECOMPUTE_KPIS, JobKind.EVALUATE_ALERTS]


class JobSerializer(serializers.ModelSerializer):
    error = serializers.SerializerMethodField()

    class Meta:
        model = JobRun
        fields = ["id", "kind", "status", "progress", "error", "result", "created_at", "started_at", "finished_at"]
        read_only_fields = fields

    def get_error(self, job: JobRun) -> str:
        # Stored in English (the row outlives the request); shown in the caller's language.
        return gettext(job.error) if job.error else ""


class JobRequestSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[(k.value, k.label) for k in API_JOB_KINDS])

    def validate_kind(self, kind: str) -> str:
        if kind not in JOB_RUNNERS:
            raise serializers.ValidationError(
                _("No runner is registered for %(kind)s yet: this job is not available.") % {"kind": kind}
            )
        return kind


class JobViewSet(ServiceViewSet):
    """Portfolio jobs: start one with POST, follow ``status`` and ``progress`` with GET."""

    queryset = JobRun.objects.all()
    serializer_class = JobSerializer
    filterset_fields = ["kind", "status"]
    ordering_fields = ["id", "created_at"]
    ordering = ("-id",)

    def base_queryset(self) -> Any:
        user = self.request.user
        jobs = JobRun.objects.all()
        return jobs if sees_all_accounts(user) else jobs.filter(requested_by=user)

    @extend_schema(
        request=JobRequestSerializer,
        responses={
            202: JobSerializer,
            409: OpenApiResponse(description="A job of this kind is already queued or running: `job` is its id."),
            503: OpenApiResponse(description="The message broker is down: nothing was queued; try again later."),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Queue a job. Answers 202 with the job; follow it at ``jobs/{id}/``."""
        serializer = JobRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            job = job_request(kind=serializer.validated_data["kind"], user=request.user)
        except JobAlreadyRunning as exc:
            # The 409 shape of every conflict, plus the job to follow instead.
            raise ConflictError(
                {"kind": [_("A job of this kind is already running (job %(id)s).") % {"id": exc.job.pk}], "job": exc.job.pk}
            ) from exc
        job.refresh_from_db()
        location = request.build_absolute_uri(f"{request.path.rstrip('/')}/{job.pk}/")
        return self.object_response(job, status.HTTP_202_ACCEPTED, Location=location)
