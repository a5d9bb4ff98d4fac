"""Needs on the account page: add and edit a department's need inline (``web.views.edit._form_flow``).

The form opens in the needs section by htmx, each field is validated as it changes, and the save goes
through ``service_plans.services.delivery`` (``need_create`` / ``need_update``, which checks the version).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from service_plans.models import Need
from service_plans.services import delivery
from web import forms as web_forms
from web.views.edit import ON_ACCOUNT, FormSpec, _fields, create_view, edit_view

#: need_create / need_edit: a department's need, in the account page's needs section.
NEED = FormSpec(
    name="need",
    model=Need,
    form=web_forms.NeedForm,
    parent=ON_ACCOUNT,
    section="needs",
    add_perm="service_plans.add_need",
    change_perm="service_plans.change_need",
    create=lambda request, account, f: delivery.need_create(account=account, actor=request.user, **_fields(f)),
    update=lambda request, need, f: delivery.need_update(
        need=need, actor=request.user, expected_version=f.cleaned_data["version"], **_fields(f)
    ),
    create_title=gettext_lazy("New need"),
    edit_title=gettext_lazy("Edit need"),
    created_message=gettext_lazy("The need was added."),
    saved_message=gettext_lazy("The need was saved."),
)
need_create = create_view(NEED)
need_edit = edit_view(NEED)
