"""Create and edit forms for accounts and what hangs off them, with htmx inline validation.

One flow for every form (``_form_flow``):
- GET renders the form (the whole page, or only the form for htmx);
- POST with ``_validate=<field>`` (sent by htmx when a field changes) validates without saving and
  re-renders the form, so the error appears next to the field at once;
- POST saves through the service; a ``ValidationError`` from the service is put on its field, a
  stale version (``kam.errors.StaleVersion``) is refused with a message, and the form comes back with
  status 422 (409 when stale) and the user's input intact. Services are atomic: nothing half-saved.

Every object is looked up through the visibility rule first (another manager's object is a 404),
then the model permission is checked (an executive may read but not edit: 403).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts import services
from accounts.models import Account, Contact, Contract, InfluenceLink, Invoice, Meeting, TeamRelationship
from kam.errors import Conflict, StaleVersion
from service_plans.models import AccountTeamMember
from web import forms as web_forms
from web.views.accounts import is_htmx

STALE_MESSAGE = gettext_lazy(
    "Someone else changed this record after you opened it. Your changes were not saved: reload the page to see "
    "the current version, then make your changes again."
)


def _data(request: HttpRequest) -> Any:
    """Bind the form on every POST, even an empty one (which must fail validation, not look unsent)."""
    return request.POST if request.method == "POST" else None


def _require(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied


def _visible_account(request: HttpRequest, pk: int) -> Account:
    return get_object_or_404(Account.objects.visible_to(request.user), pk=pk)


def _add_service_errors(form: Any, error: ValidationError) -> None:
    """Put a service's ValidationError on the form's fields; errors on fields the form lacks go on top."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, errors in error.error_dict.items():
        if name in form.fields:
            form.add_error(name, errors)
        else:
            for item in errors:
                form.add_error(None, f"{name}: {' '.join(item.messages)}")


def htmx_redirect(request: HttpRequest, url: str, *, status: int = 204) -> HttpResponse:
    """Send htmx to ``url``. Going back to the page the form is on with only a new ``#section`` is a
    same-document jump that would leave the page as it was (the form open, the old values shown), so
    then the page is also reloaded (``HX-Refresh``), landing on the section with what was saved."""
    response = HttpResponse(status=status)
    response["HX-Redirect"] = url
    if urlsplit(request.headers.get("HX-Current-URL", "")).path == urlsplit(url).path:
        response["HX-Refresh"] = "true"
    return response


def _form_flow(
    request: HttpRequest,
    *,
    form: Any,
    save: Callable[[Any], models.Model],
    title: str,
    account: Account | None,
    cancel_url: str,
    success_url: Callable[[models.Model], str],
    success_message: str,
) -> HttpResponse:
    status = 200
    if request.method == "POST":
        validate_only = "_validate" in request.POST
        if form.is_valid() and not validate_only:
            try:
                saved = save(form)
            except ValidationError as error:
                _add_service_errors(form, error)
                status = 422
            except StaleVersion:
                form.add_error(None, STALE_MESSAGE)
                status = 409
            except Conflict as error:  # conflicts with existing data (a duplicate), as the API's 409
                form.add_error(error.field if error.field in form.fields else None, error.message)
                status = 409
            else:
                messages.success(request, success_message)
                url = success_url(saved)
                if is_htmx(request):
                    return htmx_redirect(request, url)
                return redirect(url)
        elif not validate_only:
            status = 422
    web_forms.style_fields(form)
    context = {"form": form, "title": title, "account": account, "cancel_url": cancel_url, "action": request.path}
    template = "web/forms/_form.html" if is_htmx(request) else "web/forms/page.html"
    return render(request, template, context, status=status)


def _fields(form: Any, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    skip = {"version", "seen_updated_at", *exclude}
    return {name: value for name, value in form.cleaned_data.items() if name not in skip}


def _account_url(account_id: int, section: str = "") -> str:
    return reverse("web:account_detail", args=[account_id]) + (f"#{section}" if section else "")


def _delete_flow(request: HttpRequest, *, delete: Callable[[int | None], object], url: str, success_message: str) -> HttpResponse:
    """The flow of a × button: ``delete`` is called with the posted ``version`` (``None`` when absent); a
    stale version is refused with a message and status 409, a removal answers 204 (htmx) or a redirect."""
    version = request.POST.get("version", "")
    status = 204
    try:
        delete(int(version) if version.isdigit() else None)
    except StaleVersion:
        messages.error(request, str(STALE_MESSAGE))
        status = 409
    else:
        messages.success(request, success_message)
    if is_htmx(request):
        return htmx_redirect(request, url, status=status)
    return redirect(url)


# --- Create and edit views built from a FormSpec --------------------------------------------------
# Most objects on the account page have a "new" form under their parent (the account, or a plan) and
# an "edit" form, and the two views differ only in the facts a ``FormSpec`` names. ``create_view(SPEC)``
# and ``edit_view(SPEC)`` build them (``contract_create = create_view(CONTRACT)``); a view whose logic
# differs (the account itself, relationships, influence lines, raising an alert, a plan) stays written out.


@dataclass(frozen=True, kw_only=True)
class Parent:
    """What an object hangs off: ``name`` is both the form's keyword and the object's attribute for it;
    ``visible`` finds a visible one by pk (another manager's is a 404); ``account`` is the account it is on."""

    name: str
    visible: Callable[[HttpRequest, int], Any]
    account: Callable[[Any], Account]


ON_ACCOUNT = Parent(name="account", visible=_visible_account, account=lambda account: account)


def _no_form_kwargs(request: HttpRequest) -> dict[str, Any]:
    return {}


@dataclass(frozen=True, kw_only=True)
class FormSpec:
    """One kind of object's create and edit views (``create_view`` / ``edit_view``).

    Create (``<name>_create``, ``pk`` is the parent's): find the visible parent (404 otherwise), require
    ``add_perm`` (403), bind ``form(data, <parent>=parent, **form_kwargs(request), initial=initial(request))``
    and save with ``create(request, parent, form)``. Edit (``<name>_edit``): find the visible ``model``
    object (with ``select_related``), require ``change_perm``, bind ``form(data, instance=obj,
    <parent>=obj.<parent>, **form_kwargs(request))`` and save with ``update(request, obj, form)``.
    Both run ``_form_flow`` (422 invalid, 409 stale or duplicate) and go back to the account page at
    ``#section``. Titles and messages are ``gettext_lazy`` literals (so makemessages finds them);
    ``edit_title % edit_title_args(obj)`` fills an edit title's placeholders.
    """

    name: str
    model: type[models.Model]
    form: type[Any]
    parent: Parent
    section: str
    add_perm: str
    change_perm: str
    create: Callable[[HttpRequest, Any, Any], models.Model]
    update: Callable[[HttpRequest, Any, Any], models.Model]
    create_title: Promise
    edit_title: Promise
    created_message: Promise
    saved_message: Promise
    edit_title_args: Callable[[Any], dict[str, Any]] | None = None
    select_related: tuple[str, ...] = ("account",)
    form_kwargs: Callable[[HttpRequest], dict[str, Any]] = _no_form_kwargs
    initial: Callable[[HttpRequest], dict[str, Any]] | None = None


def create_view(spec: FormSpec) -> Callable[..., HttpResponse]:
    """The ``<spec.name>_create`` view: a new object under the visible parent whose pk is in the URL."""

    def view(request: HttpRequest, pk: int) -> HttpResponse:
        parent = spec.parent.visible(request, pk)
        _require(request, spec.add_perm)
        form_kwargs = spec.form_kwargs(request)
        if spec.initial is not None:
            form_kwargs["initial"] = spec.initial(request)
        form = spec.form(_data(request), **{spec.parent.name: parent}, **form_kwargs)
        account = spec.parent.account(parent)
        return _form_flow(
            request,
            form=form,
            save=lambda f: spec.create(request, parent, f),
            title=str(spec.create_title),
            account=account,
            cancel_url=_account_url(account.pk, spec.section),
            success_url=lambda saved: _account_url(account.pk, spec.section),
            success_message=str(spec.created_message),
        )

    view.__name__ = view.__qualname__ = f"{spec.name}_create"
    view.form_spec = spec  # type: ignore[attr-defined]  # how tests find every generated view
    view.__doc__ = f'Create a {spec.model.__name__}: built by ``create_view`` from ``FormSpec(name="{spec.name}")``.'
    return login_required(require_http_methods(["GET", "POST"])(view))


def edit_view(spec: FormSpec) -> Callable[..., HttpResponse]:
    """The ``<spec.name>_edit`` view: edit the visible object whose pk is in the URL."""

    def view(request: HttpRequest, pk: int) -> HttpResponse:
        obj = get_object_or_404(spec.model.objects.visible_to(request.user).select_related(*spec.select_related), pk=pk)
        _require(request, spec.change_perm)
        parent = getattr(obj, spec.parent.name)
        form = spec.form(_data(request), instance=obj, **{spec.parent.name: parent}, **spec.form_kwargs(request))
        account = spec.parent.account(parent)
        title = str(spec.edit_title)
        if spec.edit_title_args is not None:  # before the form is validated, which writes into ``obj``
            title %= spec.edit_title_args(obj)
        return _form_flow(
            request,
            form=form,
            save=lambda f: spec.update(request, obj, f),
            title=title,
            account=account,
            cancel_url=_account_url(account.pk, spec.section),
            success_url=lambda saved: _account_url(account.pk, spec.section),
            success_message=str(spec.saved_message),
        )

    view.__name__ = view.__qualname__ = f"{spec.name}_edit"
    view.form_spec = spec  # type: ignore[attr-defined]  # how tests find every generated view
    view.__doc__ = f'Edit a {spec.model.__name__}: built by ``edit_view`` from ``FormSpec(name="{spec.name}")``.'
    return login_required(require_http_methods(["GET", "POST"])(view))


# --- Accounts -------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def account_create(request: HttpRequest) -> HttpResponse:
    _require(request, "accounts.add_account")
    form = web_forms.AccountForm(
        _data(request),
        user=request.user,
        lookup_url=reverse("web:account_lookup"),
        initial={"owner": request.user.pk, "currency": settings.KAM_BASE_CURRENCY},
    )
    return _form_flow(
        request,
        form=form,
        save=lambda f: services.account_create(actor=request.user, **_fields(f)),
        title=_("New account"),
        account=None,
        cancel_url=reverse("web:account_list"),
        success_url=lambda a: _account_url(a.pk),
        success_message=_("The account was created."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_edit(request: HttpRequest, pk: int) -> HttpResponse:
    account = _visible_account(request, pk)
    _require(request, "accounts.change_account")
    form = web_forms.AccountForm(
        _data(request),
        instance=account,
        user=request.user,
        lookup_url=reverse("web:account_lookup") + f"?exclude={account.pk}",
    )
    return _form_flow(
        request,
        form=form,
        save=lambda f: services.account_update(
            account=account, actor=request.user, expected_version=f.cleaned_data["version"], **_fields(f)
        ),
        title=_("Edit account"),
        account=account,
        cancel_url=_account_url(account.pk),
        success_url=lambda a: _account_url(a.pk),
        success_message=_("The account was saved."),
    )


# --- Contacts, contracts, invoices ----------------------------------------------------------------


def _buying_roles(form: Any) -> list[str]:
    return [role.code for role in form.cleaned_data["buying_roles"]]


#: contact_create / contact_edit: a contact on the account's stakeholder map, with its buying roles.
CONTACT = FormSpec(
    name="contact",
    model=Contact,
    form=web_forms.ContactForm,
    parent=ON_ACCOUNT,
    section="stakeholders",
    add_perm="accounts.add_contact",
    change_perm="accounts.change_contact",
    create=lambda request, account, f: services.contact_create(
        actor=request.user, account=account, buying_roles=_buying_roles(f), **_fields(f, exclude=("buying_roles",))
    ),
    update=lambda request, contact, f: services.contact_update(
        contact=contact,
        actor=request.user,
        expected_version=f.cleaned_data["version"],
        buying_roles=_buying_roles(f),
        **_fields(f, exclude=("buying_roles",)),
    ),
    create_title=gettext_lazy("New contact"),
    edit_title=gettext_lazy("Edit contact"),
    created_message=gettext_lazy("The contact was added."),
    saved_message=gettext_lazy("The contact was saved."),
)
contact_create = create_view(CONTACT)
contact_edit = edit_view(CONTACT)

#: contract_create / contract_edit: the account's contracts (the form offers the user's currencies).
CONTRACT = FormSpec(
    name="contract",
    model=Contract,
    form=web_forms.ContractForm,
    parent=ON_ACCOUNT,
    section="contracts",
    add_perm="accounts.add_contract",
    change_perm="accounts.change_contract",
    form_kwargs=lambda request: {"user": request.user},
    create=lambda request, account, f: services.contract_create(actor=request.user, account=account, **_fields(f)),
    update=lambda request, contract, f: services.contract_update(
        contract=contract, actor=request.user, expected_version=f.cleaned_data["version"], **_fields(f)
    ),
    create_title=gettext_lazy("New contract"),
    edit_title=gettext_lazy("Edit contract %(number)s"),
    edit_title_args=lambda contract: {"number": contract.number},
    created_message=gettext_lazy("The contract was added."),
    saved_message=gettext_lazy("The contract was saved."),
)
contract_create = create_view(CONTRACT)
contract_edit = edit_view(CONTRACT)

#: invoice_create / invoice_edit: the account's invoices, in the finance section.
INVOICE = FormSpec(
    name="invoice",
    model=Invoice,
    form=web_forms.InvoiceForm,
    parent=ON_ACCOUNT,
    section="finance",
    add_perm="accounts.add_invoice",
    change_perm="accounts.change_invoice",
    create=lambda request, account, f: services.invoice_create(actor=request.user, account=account, **_fields(f)),
    update=lambda request, invoice, f: services.invoice_update(
        invoice=invoice, actor=request.user, expected_version=f.cleaned_data["version"], **_fields(f)
    ),
    create_title=gettext_lazy("New invoice"),
    edit_title=gettext_lazy("Edit invoice %(number)s"),
    edit_title_args=lambda invoice: {"number": invoice.number},
    created_message=gettext_lazy("The invoice was added."),
    saved_message=gettext_lazy("The invoice was saved."),
)
invoice_create = create_view(INVOICE)
invoice_edit = edit_view(INVOICE)


# --- Meetings and the team ------------------------------------------------------------------------


def _meeting_fields(form: Any) -> dict[str, Any]:
    return _fields(form, exclude=("contacts", "attendees"))


def _seen_updated_at(form: Any) -> dt.datetime | None:
    raw = form.cleaned_data.get("seen_updated_at") or ""
    try:
        return dt.datetime.fromisoformat(raw) if raw else None
    except ValueError:
        return None


#: meeting_create / meeting_edit: a logged meeting; an edit is checked against the ``updated_at`` the
#: form was opened with (``expected_updated_at``), not a version.
MEETING = FormSpec(
    name="meeting",
    model=Meeting,
    form=web_forms.MeetingForm,
    parent=ON_ACCOUNT,
    section="meetings",
    add_perm="accounts.add_meeting",
    change_perm="accounts.change_meeting",
    create=lambda request, account, f: services.meeting_create(
        actor=request.user,
        account=account,
        created_by=request.user,
        contacts=f.cleaned_data["contacts"],
        attendees=f.cleaned_data["attendees"],
        **_meeting_fields(f),
    ),
    update=lambda request, meeting, f: services.meeting_update(
        meeting=meeting,
        actor=request.user,
        expected_updated_at=_seen_updated_at(f),
        contacts=f.cleaned_data["contacts"],
        attendees=f.cleaned_data["attendees"],
        **_meeting_fields(f),
    ),
    create_title=gettext_lazy("New meeting"),
    edit_title=gettext_lazy("Edit meeting"),
    created_message=gettext_lazy("The meeting was logged."),
    saved_message=gettext_lazy("The meeting was saved."),
)
meeting_create = create_view(MEETING)
meeting_edit = edit_view(MEETING)


@login_required
@require_http_methods(["GET", "POST"])
def alert_raise(request: HttpRequest, pk: int) -> HttpResponse:
    """Raise an alert by hand on an account (§5.1); the one-open-per-key rule holds (a field error)."""
    from service_plans.services.alerts import alert_create_manual

    account = _visible_account(request, pk)
    _require(request, "service_plans.add_alert")
    form = web_forms.AlertRaiseForm(_data(request))
    return _form_flow(
        request,
        form=form,
        save=lambda f: alert_create_manual(account=account, actor=request.user, **_fields(f)),
        title=_("Raise an alert"),
        account=account,
        cancel_url=_account_url(account.pk, "alerts"),
        success_url=lambda alert: reverse("web:alert_detail", args=[alert.pk]),
        success_message=_("The alert is raised."),
    )


#: team_member_create / team_member_edit: a person on the account team; an edit cannot change the
#: person (``user``) and has no version check.
TEAM_MEMBER = FormSpec(
    name="team_member",
    model=AccountTeamMember,
    form=web_forms.TeamMemberForm,
    parent=ON_ACCOUNT,
    section="team",
    add_perm="service_plans.add_accountteammember",
    change_perm="service_plans.change_accountteammember",
    select_related=("account", "user"),
    create=lambda request, account, f: services.team_member_add(account=account, actor=request.user, **_fields(f)),
    update=lambda request, member, f: services.team_member_update(
        member=member, actor=request.user, **_fields(f, exclude=("user",))
    ),
    create_title=gettext_lazy("Add a team member"),
    edit_title=gettext_lazy("Edit team member"),
    created_message=gettext_lazy("The team member was added."),
    saved_message=gettext_lazy("The team member was saved."),
)
team_member_create = create_view(TEAM_MEMBER)
team_member_edit = edit_view(TEAM_MEMBER)


# --- Relationship levels on the stakeholder map (DOMAIN.md §6.2) ----------------------------------
# Each of the account's people records their own level with a contact; the account's owner (and an
# administrator) also records colleagues'. ``accounts.services`` enforces the same rule.


def _relationship_colleagues(request: HttpRequest, contact: Contact) -> tuple[Any, bool]:
    """Whom the user may record a relationship for, and whether that includes colleagues."""
    if services.may_manage_relationships_of_others(request.user, contact):
        return web_forms.account_people(contact.account), True
    return get_user_model().objects.filter(pk=request.user.pk), False


def _visible_relationship(request: HttpRequest, pk: int) -> TeamRelationship:
    relationship = get_object_or_404(
        TeamRelationship.objects.visible_to(request.user).select_related("contact__account", "user"), pk=pk
    )
    if relationship.user_id != request.user.pk and not services.may_manage_relationships_of_others(
        request.user, relationship.contact
    ):
        raise PermissionDenied
    return relationship


@login_required
@require_http_methods(["GET", "POST"])
def relationship_create(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact.objects.visible_to(request.user).select_related("account"), pk=pk)
    _require(request, "accounts.add_teamrelationship")
    colleagues, choose = _relationship_colleagues(request, contact)
    form = web_forms.TeamRelationshipForm(
        _data(request), contact=contact, colleagues=colleagues, initial={"user": request.user.pk}
    )
    if not choose:  # one's own relationship: the colleague is the user
        form.fields["user"].disabled = True
    return _form_flow(
        request,
        form=form,
        save=lambda f: services.team_relationship_create(contact=contact, actor=request.user, **_fields(f)),
        title=_("Relationship with %(contact)s") % {"contact": contact.name},
        account=contact.account,
        cancel_url=_account_url(contact.account_id, "stakeholders"),
        success_url=lambda r: _account_url(contact.account_id, "stakeholders"),
        success_message=_("The relationship level was saved."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def relationship_edit(request: HttpRequest, pk: int) -> HttpResponse:
    relationship = _visible_relationship(request, pk)
    _require(request, "accounts.change_teamrelationship")
    contact = relationship.contact
    form = web_forms.TeamRelationshipForm(
        _data(request),
        instance=relationship,
        contact=contact,
        colleagues=get_user_model().objects.filter(pk=relationship.user_id),
    )
    return _form_flow(
        request,
        form=form,
        save=lambda f: services.team_relationship_update(
            relationship=relationship,
            actor=request.user,
            expected_version=f.cleaned_data["version"],
            **_fields(f, exclude=("user",)),
        ),
        title=_("Relationship with %(contact)s") % {"contact": contact.name},
        account=contact.account,
        cancel_url=_account_url(contact.account_id, "stakeholders"),
        success_url=lambda r: _account_url(contact.account_id, "stakeholders"),
        success_message=_("The relationship level was saved."),
    )


@login_required
@require_POST
def relationship_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Remove a relationship (the stakeholder map's × button); a stale ``version`` is refused."""
    relationship = _visible_relationship(request, pk)
    _require(request, "accounts.delete_teamrelationship")
    return _delete_flow(
        request,
        delete=lambda version: services.team_relationship_remove(
            relationship=relationship, actor=request.user, expected_version=version
        ),
        url=_account_url(relationship.contact.account_id, "stakeholders"),
        success_message=_("The relationship was removed."),
    )


# --- Influence and conflict lines on the stakeholder map (DOMAIN.md §6.1–6.2) ---------------------
# Whoever may edit the account's contacts draws and removes them; ``accounts.services`` enforces it.


@login_required
@require_http_methods(["GET", "POST"])
def influence_link_create(request: HttpRequest, pk: int) -> HttpResponse:
    account = _visible_account(request, pk)
    _require(request, "accounts.add_influencelink")
    form = web_forms.InfluenceLinkForm(_data(request), account=account)
    return _form_flow(
        request,
        form=form,
        save=lambda f: services.influence_link_create(actor=request.user, **_fields(f)),
        title=_("New influence or conflict line"),
        account=account,
        cancel_url=_account_url(account.pk, "stakeholders"),
        success_url=lambda link: _account_url(account.pk, "stakeholders"),
        success_message=_("The line was added to the stakeholder map."),
    )


@login_required
@require_POST
def influence_link_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Remove a line (the stakeholder map's × button); a stale ``version`` is refused."""
    link = get_object_or_404(InfluenceLink.objects.visible_to(request.user).select_related("from_contact"), pk=pk)
    _require(request, "accounts.delete_influencelink")
    return _delete_flow(
        request,
        delete=lambda version: services.influence_link_delete(link=link, actor=request.user, expected_version=version),
        url=_account_url(link.from_contact.account_id, "stakeholders"),
        success_message=_("The line was removed."),
    )
