"""``imports/``: upload a spreadsheet, check it (dry run) or import it, follow its progress.

The API runs the same services as the import pages (``imports.services``), with the same
thresholds: files up to ``KAM_IMPORT_INLINE_MAX_ROWS`` rows are checked and written within the
request (201), larger ones as the ``import_data`` job (202; follow ``progress`` on the import or
on ``jobs/{job}/``). A file that cannot be imported as a whole (not a spreadsheet, empty, no data
rows, required columns missing, a kind the caller may not import) is a 400 naming the problem and
leaves nothing behind; row errors end as an import with status ``invalid``, every error listed in
``errors.csv``.

Who sees what: an import is visible to the user who ran it (administrators see all); another
user's import is a 404. What an import may touch is decided by the importer with the visibility
rule: an account a manager cannot see reads as unknown.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from django_filters import rest_framework as django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import parsers, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from imports import selectors, services
from imports.definitions import SPECS
from imports.models import ImportFile, ImportFileRole, ImportKind, ImportRecord, ImportStatus
from kam.api.exceptions import ConflictError
from kam.api.viewsets import ServiceViewSet

RUNNING = {ImportStatus.QUEUED, ImportStatus.RUNNING}


class ImportRecordSerializer(serializers.ModelSerializer):
    run_by = serializers.CharField(source="user.username", read_only=True, allow_null=True, default=None)
    created = serializers.IntegerField(source="created_count", read_only=True)
    updated = serializers.IntegerField(source="updated_count", read_only=True)
    unchanged = serializers.IntegerField(source="unchanged_count", read_only=True)
    errors = serializers.IntegerField(source="error_count", read_only=True)
    first_errors = serializers.JSONField(source="errors", read_only=True, help_text="Up to 200 of {row, column, value, message}.")
    dry_run = serializers.BooleanField(source="is_dry_run", read_only=True)
    progress = serializers.SerializerMethodField(help_text="0–100: the job's progress; 100 once finished.")
    error_report = serializers.SerializerMethodField(help_text="URL of the full error report (CSV), or null.")

    class Meta:
        model = ImportRecord
        fields = [
            "id", "kind", "status", "dry_run", "file_name", "file_format", "encoding", "file_size", "headers", "mapping",
            "rows_total", "created", "updated", "unchanged", "errors", "first_errors", "message", "progress", "job",
            "run_by", "error_report", "created_at", "started_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_progress(self, record: ImportRecord) -> int:
        if record.status in RUNNING:
            return record.job.progress if record.job_id else 0
        return 100 if record.is_finished else 0

    def get_error_report(self, record: ImportRecord) -> str | None:
        if not record.error_count:
            return None
        request = self.context.get("request")
        path = f"{request.path.split('/imports/')[0]}/imports/{record.pk}/errors/" if request else f"{record.pk}/errors/"
        return request.build_absolute_uri(path) if request else path


class ImportRequestSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text=(
            "A CSV (UTF-8, UTF-16 or GBK/GB18030) or XLSX file; in a workbook of several sheets, the sheet named "
            'for the kind ("contracts", "Contracts", "合同") is read, else the first.'
        )
    )
    kind = serializers.ChoiceField(choices=ImportKind.choices)
    dry_run = serializers.BooleanField(default=False, help_text="Check only: report what would happen, write nothing.")
    day_first = serializers.BooleanField(default=False, help_text="Read 01/03/2025 as 1 March.")
    mapping = serializers.JSONField(
        required=False,
        help_text='Overrides of the default column mapping, {"file header": "column name" or null to ignore it}.',
    )

    def validate_mapping(self, mapping: Any) -> dict[str, Any]:
        if isinstance(mapping, str):  # multipart sends JSON as text
            try:
                mapping = json.loads(mapping)
            except ValueError:
                raise serializers.ValidationError(_("Give the mapping as a JSON object.")) from None
        if not isinstance(mapping, dict) or not all(isinstance(v, str | type(None)) for v in mapping.values()):
            raise serializers.ValidationError(_("Give the mapping as a JSON object.")) from None
        return mapping

    def validate_file(self, upload: Any) -> Any:
        if upload.size > settings.KAM_IMPORT_MAX_UPLOAD_MB * 1024 * 1024:
            raise serializers.ValidationError(
                _("The file is larger than %(size)s MB.") % {"size": settings.KAM_IMPORT_MAX_UPLOAD_MB}
            )
        return upload


class ImportFilterSet(django_filters.FilterSet):
    class Meta:
        model = ImportRecord
        fields = ["kind", "status"]


class ImportViewSet(ServiceViewSet):
    """Imports: POST a file (multipart) to check or import it; GET to follow it; ``errors/`` for the report."""

    queryset = ImportRecord.objects.all()
    serializer_class = ImportRecordSerializer
    filterset_class = ImportFilterSet
    ordering_fields = ["id", "created_at"]
    ordering = ("-id",)
    parser_classes = [parsers.MultiPartParser, parsers.FormParser, parsers.JSONParser]

    def base_queryset(self) -> Any:
        # The API shows the headers and first errors the pages' list leaves deferred.
        return selectors.import_list(user=self.request.user).defer(None)

    def get_required_permissions(self, request: Request) -> list[str]:
        # Reading: anyone signed in (the queryset holds only their own imports). Importing a kind
        # needs its model's add and change permissions, as on the import page.
        if request.method != "POST":
            return []
        kind = request.data.get("kind") if self.action == "create" else None
        if kind not in SPECS:
            return []
        meta = SPECS[kind].model._meta
        return [f"{meta.app_label}.add_{meta.model_name}", f"{meta.app_label}.change_{meta.model_name}"]

    def _answer(self, request: Request, record: ImportRecord, *, created: bool) -> Response:
        record = self.get_queryset().get(pk=record.pk)
        code = (
            status.HTTP_202_ACCEPTED if record.status in RUNNING else status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )
        headers = {"Location": request.build_absolute_uri(f"{request.path.split('/imports/')[0]}/imports/{record.pk}/")}
        return self.object_response(record, code, **headers)

    @extend_schema(
        request={"multipart/form-data": ImportRequestSerializer},
        responses={
            201: ImportRecordSerializer,
            202: OpenApiResponse(ImportRecordSerializer, description="A large file: queued as a job; follow `progress`."),
            503: OpenApiResponse(description="The message broker is down: nothing was queued; try again later."),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Upload a file and check it (``dry_run``) or import it, all rows or none.

        Answers 201 with the finished import (status ``validated``, ``done`` or ``invalid`` with its
        row errors), or 202 when the file is large enough to run as a job.
        """
        serializer = ImportRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        upload = data["file"]
        with transaction.atomic():
            record = services.import_record_create(
                user=request.user,
                kind=data["kind"],
                file_name=upload.name or "upload",
                content=upload.read(),
                mapping=data.get("mapping"),
                day_first=data["day_first"],
            )
            problem = services.import_file_problem(record=record)
            if problem:  # a file refused as a whole leaves nothing behind: raising rolls the record back
                raise serializers.ValidationError({"file": [problem]})
            if record.rows_total > settings.KAM_IMPORT_INLINE_MAX_ROWS:
                services.import_start(record=record, dry_run=data["dry_run"], user=request.user, background=True)
                return self._answer(request, record, created=True)
        return self._run_inline(request, record, dry_run=data["dry_run"], created=True)

    def _run_inline(self, request: Request, record: ImportRecord, *, dry_run: bool, created: bool) -> Response:
        record = services.import_run(record=record, dry_run=dry_run)
        if record.status == ImportStatus.INVALID and not record.error_count and record.message:
            # Found only by reading the rows (a header without data rows): still the file's problem.
            message = record.message
            if created:
                record.delete()
            raise serializers.ValidationError({"file": [message]})
        return self._answer(request, record, created=created)

    @extend_schema(
        request=None,
        responses={
            200: ImportRecordSerializer,
            202: OpenApiResponse(ImportRecordSerializer, description="Queued as a job; follow `progress`."),
            503: OpenApiResponse(description="The message broker is down: nothing was queued; try again later."),
        },
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str | None = None) -> Response:
        """Import a file whose dry run found no errors (status ``validated``); 409 otherwise."""
        with transaction.atomic():
            record = ImportRecord.objects.select_for_update().get(pk=self.get_object().pk)
            if record.status != ImportStatus.VALIDATED:
                message = _("Only an import whose check found no errors can be confirmed; this one is “%(status)s”.")
                raise ConflictError({"status": [message % {"status": record.get_status_display()}]})
            if record.rows_total > settings.KAM_IMPORT_INLINE_MAX_ROWS:
                services.import_start(record=record, dry_run=False, user=request.user, background=True)
                return self._answer(request, record, created=False)
        return self._run_inline(request, record, dry_run=False, created=False)

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def errors(self, request: Request, pk: str | None = None) -> HttpResponse:
        """Every row error as CSV (row, column, value, message; UTF-8 with BOM); 404 when there are none."""
        record = self.get_object()
        content = (
            ImportFile.objects.filter(record=record, role=ImportFileRole.ERROR_REPORT).values_list("content", flat=True).first()
        )
        if content is None:
            raise Http404
        response = HttpResponse(bytes(content), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-{record.pk}-errors.csv"'
        return response


ROUTES = [("imports", ImportViewSet, "import")]
