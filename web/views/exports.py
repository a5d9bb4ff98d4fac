"""``/exports/<list>/``: any list or KPI table as CSV or XLSX, streamed (``web.exports``)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from kam.export import FORMATS, export_response
from web.exports import EXPORTS, ExportError, export_filename


@login_required
@require_GET
def list_export(request: HttpRequest, name: str) -> HttpResponseBase:
    """The list ``name`` with the filters of the query string; bad parameters are a 400 naming them."""
    export = EXPORTS.get(name)
    if export is None or (export.permission and not request.user.has_perm(export.permission)):
        raise Http404
    fmt = request.GET.get("format", "csv")
    errors = []
    if fmt not in FORMATS:
        errors.append(_("Unknown export format “%(format)s”: choose CSV or XLSX.") % {"format": fmt})
    try:
        rows, columns = export.build(request)
    except ExportError as error:
        errors += error.messages
    if errors:
        return render(request, "web/export_error.html", {"errors": errors}, status=400)
    return export_response(rows=rows, columns=columns, filename=export_filename(name), fmt=fmt, sheet_title=str(export.title))
