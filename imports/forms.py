"""Forms of the import pages: they validate input only; the services do the work."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from imports.definitions import SPECS
from imports.models import ImportKind, ImportRecord


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"))
    file = forms.FileField(
        label=_("File"),
        help_text=_("CSV (UTF-8 or GBK/GB18030) or Excel workbook (.xlsx); the first row holds the column names."),
    )
    day_first = forms.BooleanField(
        label=_("Dates like 01/03/2025 are day first (1 March)"), required=False,
        help_text=_("Leave unticked for month first (3 January). Dates such as 2025-03-01 or 2025年3月1日 are never ambiguous."),
    )  # fmt: skip

    def __init__(self, *args: Any, kinds: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(ImportKind.choices)
        self.fields["kind"].choices = [(kind, labels[kind]) for kind in kinds]

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > settings.KAM_IMPORT_MAX_UPLOAD_MB * 1024 * 1024:
            raise forms.ValidationError(_("The file is larger than %(size)s MB.") % {"size": settings.KAM_IMPORT_MAX_UPLOAD_MB})
        return upload


class MappingForm(forms.Form):
    """One select per column of the kind: which header of the file feeds it."""

    day_first = forms.BooleanField(label=_("Dates like 01/03/2025 are day first (1 March)"), required=False)

    def __init__(self, *args: Any, record: ImportRecord, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.record = record
        spec = SPECS[record.kind]
        choices = [("", _("— not imported —")), *[(h, h) for h in record.headers if h]]
        self.columns = []
        for column in spec.columns:
            label = spec.label(column)
            field = forms.ChoiceField(label=label, choices=choices, required=False, initial=record.mapping.get(column.name, ""))
            field.widget.attrs["class"] = "form-select form-select-sm"
            field.column = column
            self.fields[f"col_{column.name}"] = field
            self.columns.append((column, self[f"col_{column.name}"]))
        self.fields["day_first"].initial = bool(record.options.get("day_first"))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        spec = SPECS[self.record.kind]
        seen: dict[str, str] = {}
        for column in spec.columns:
            header = data.get(f"col_{column.name}")
            if not header:
                continue
            if header in seen:
                self.add_error(
                    f"col_{column.name}",
                    _("“%(header)s” is already used for %(other)s.") % {"header": header, "other": seen[header]},
                )
            seen[header] = spec.label(column)
        for column in spec.columns:
            if column.required and not data.get(f"col_{column.name}"):
                self.add_error(f"col_{column.name}", _("This column is required: choose the file's column for it."))
        return data

    @property
    def mapping(self) -> dict[str, str]:
        return {name[len("col_") :]: value for name, value in self.cleaned_data.items() if name.startswith("col_") and value}
