"""The import pages: upload → map columns → check (dry run) → confirm → progress → result.

Thin views: the services do the work, the selectors decide what a user may see (their own
imports; administrators see all). Small files run within the request; large ones as a job whose
progress the page polls with htmx (no inline script: the CSP forbids it).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from imports import exports, selectors, services
from imports.definitions import SPECS
from imports.forms import MappingForm, UploadForm
from imports.models import ImportFile, ImportFileRole, ImportKind, ImportStatus
from kam import export
from kam.jobs import BackgroundUnavailable
from kam.roles import is_administrator

RUNNING = {ImportStatus.QUEUED, ImportStatus.RUNNING}


@login_required
@require_GET
def import_list(request: HttpRequest) -> HttpResponse:
    records = selectors.import_list(user=request.user)[:200]
    return render(
        request,
        "imports/list.html",
        {"records": records, "kinds": ImportKind.choices, "is_admin": is_administrator(request.user)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    kinds = selectors.importable_kinds(user=request.user)
    form = UploadForm(request.POST or None, request.FILES or None, kinds=kinds, initial={"kind": request.GET.get("kind")})
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            record = services.import_record_create(
                user=request.user,
                kind=form.cleaned_data["kind"],
                file_name=upload.name,
                content=upload.read(),
                day_first=form.cleaned_data["day_first"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            return redirect("imports:detail", pk=record.pk)
    return render(request, "imports/upload.html", {"form": form, "kinds": kinds})


@login_required
@require_http_methods(["GET", "POST"])
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The import's page: its mapping form until it is imported, then its result."""
    record = selectors.import_get(user=request.user, pk=pk)
    editable = record.status not in RUNNING and record.status != ImportStatus.DONE and bool(record.headers)
    form = MappingForm(request.POST or None, record=record) if editable else None
    if request.method == "POST":
        if form is None:
            raise Http404
        if form.is_valid():
            services.import_mapping_set(record=record, mapping=form.mapping, day_first=form.cleaned_data["day_first"])
            return _start(request, record, dry_run=True)
    spec = SPECS[record.kind]
    running = record.status in RUNNING
    if record.status == ImportStatus.DONE or (running and not record.is_dry_run):
        step = 4
    elif record.status == ImportStatus.UPLOADED:
        step = 2
    else:
        step = 3
    return render(
        request,
        "imports/detail.html",
        {
            "record": record,
            "form": form,
            "running": running,
            "step": step,
            "spec": spec,
            "ignored": [h for h in record.headers if h and h not in record.mapping.values()],
            "mapping": [(spec.label(c), c.name, record.mapping.get(c.name, "")) for c in spec.columns],
        },
    )


@login_required
@require_POST
def import_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    record = selectors.import_get(user=request.user, pk=pk)
    if record.status != ImportStatus.VALIDATED:
        messages.error(request, _("Check the file first; it can be imported once the check finds no errors."))
        return redirect("imports:detail", pk=record.pk)
    return _start(request, record, dry_run=False)


def _start(request: HttpRequest, record, *, dry_run: bool) -> HttpResponse:
    try:
        services.import_start(record=record, dry_run=dry_run, user=request.user)
    except BackgroundUnavailable:
        messages.error(request, _("Background processing is unavailable: the message broker cannot be reached. Try again later."))
    except Exception:  # logged and recorded on the import as "failed" by the service
        messages.error(request, str(services.FAILED_MESSAGE))
    return redirect("imports:detail", pk=record.pk)


@login_required
@require_GET
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar, polled by htmx; once the import has finished the page reloads itself."""
    record = selectors.import_get(user=request.user, pk=pk)
    if record.status not in RUNNING:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(request, "imports/_progress.html", {"record": record})


@login_required
@require_GET
def import_error_report(request: HttpRequest, pk: int) -> HttpResponse:
    record = selectors.import_get(user=request.user, pk=pk)
    content = ImportFile.objects.filter(record=record, role=ImportFileRole.ERROR_REPORT).values_list("content", flat=True).first()
    if content is None:
        raise Http404
    response = HttpResponse(bytes(content), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{record.pk}-errors.csv"'
    return response


@login_required
@require_GET
def export_kind(request: HttpRequest, kind: str, fmt: str) -> HttpResponse:
    """Everything of ``kind`` the user can see, in the import format (round trip safe)."""
    if kind not in SPECS or fmt not in {"csv", "xlsx"}:
        raise Http404
    meta = SPECS[kind].model._meta
    if not request.user.has_perm(f"{meta.app_label}.view_{meta.model_name}"):
        raise Http404
    return export.export_response(
        rows=exports.export_rows(kind, user=request.user), columns=exports.export_columns(kind), filename=kind, fmt=fmt
    )
