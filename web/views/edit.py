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


def _contact_save(request: HttpRequest, account: Account, contact: Contact | None) -> Callable[[Any], Contact]:
    def save(form: Any) -> Contact:
        fields = _fields(form, exclude=("buying_roles",))
        roles = [role.code for role in form.cleaned_data["buying_roles"]]
        if contact is None:
            return services.contact_create(actor=request.user, account=account, buying_roles=roles, **fields)
        return services.contact_update(
            contact=contact, actor=request.user, expected_version=form.cleaned_data["version"], buying_roles=roles, **fields
        )

    return save


@login_required
@require_http_methods(["GET", "POST"])
def contact_create(request: HttpRequest, pk: int) -> HttpResponse:
    account = _visible_account(request, pk)
    _require(request, "accounts.add_contact")
    form = web_forms.ContactForm(_data(request), account=account)
    return _form_flow(
        request,
        form=form,
        save=_contact_save(request, account, None),
        title=_("New contact"),
        account=account,
        cancel_url=_account_url(account.pk, "stakeholders"),
        success_url=lambda c: _account_url(account.pk, "stakeholders"),
        success_message=_("The contact was added."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact.objects.visible_to(request.user).select_related("account"), pk=pk)
    _require(request, "accounts.change_contact")
    form = web_forms.ContactForm(_data(request), instance=contact, account=contact.account)
    return _form_flow(
        request,
        form=form,
        save=_contact_save(request, contact.account, contact),
        title=_("Edit contact"),
        account=contact.account,
        cancel_url=_account_url(contact.account_id, "stakeholders"),
        success_url=lambda c: _account_url(contact.account_id, "stakeholders"),
        success_message=_("The contact was saved."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def contract_create(request: HttpRequest, pk: int) -> HttpResponse:
    account = _visible_account(request, pk)
    _require(request, "accounts.add_contract")
    form = web_forms.ContractForm(_data(request), account=account, user=request.user)
    return _form_flow(
        request,
        form=form,
        save=lambda f: services.contract_create(actor=request.user, account=account, **_fields(f)),
        title=_("New contract"),
        account=account,
        cancel_url=_account_url(account.pk, "contracts"),
        success_url=lambda c: _account_url(account.pk, "contracts"),
        success_message=_("The contract was added."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def contract_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contract = get_object_or_404(Contract.objects.visible_to(request.user).select_related("account"), pk=pk)
    _require(request, "accounts.change_contract")
    form = web_forms.ContractForm(_data(request), instance=contract, account=contract.account, user=request.user)
    return _form_flow(
        request,
        form=form,
        save=lambda f: services.contract_update(
            contract=contract, actor=request.user, expected_version=f.cleaned_data["version"], **_fields(f)
        ),
        title=_("Edit contract %(number)s") % {"number": contract.number},
        account=contract.account,
        cancel_url=_account_url(contract.account_id, "contracts"),
        success_url=lambda c: _account_url(contract.account_id, "contracts"),
        success_message=_("The contract was saved."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def invoice_create(request: HttpRequest, pk: int) -> HttpResponse:
    account = _visible_account(request, pk)
    _require(request, "accounts.add_invoice")
    form = web_forms.InvoiceForm(_data(request), account=account)
    return _form_flow(
        request,
        form=form,
        save=lambda f: services.invoice_create(actor=request.user, account=account, **_fields(f)),
        title=_("New invoice"),
        account=account,
        cancel_url=_account_url(account.pk, "finance"),
        success_url=lambda i: _account_url(account.pk, "finance"),
        success_message=_("The invoice was added."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def invoice_edit(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = get_object_or_404(Invoice.objects.visible_to(request.user).select_related("account"), pk=pk)
    _require(request, "accounts.change_invoice")
    form = web_forms.InvoiceForm(_data(request), instance=invoice, account=invoice.account)
    return _form_flow(
        request,
        form=form,
        save=lambda f: services.invoice_update(
            invoice=invoice, actor=request.user, expected_version=f.cleaned_data["version"], **_fields(f)
        ),
        title=_("Edit invoice %(number)s") % {"number": invoice.number},
        account=invoice.account,
        cancel_url=_account_url(invoice.account_id, "finance"),
        success_url=lambda i: _account_url(invoice.account_id, "finance"),
        success_message=_("The invoice was saved."),
    )


# --- Meetings and the team ------------------------------------------------------------------------


def _meeting_fields(form: Any) -> dict[str, Any]:
    return _fields(form, exclude=("contacts", "attendees"))


@login_required
@require_http_methods(["GET", "POST"])
def meeting_create(request: HttpRequest, pk: int) -> HttpResponse:
    account = _visible_account(request, pk)
    _require(request, "accounts.add_meeting")
    form = web_forms.MeetingForm(_data(request), account=account)
    return _form_flow(
        request,
        form=form,
        save=lambda f: services.meeting_create(
            actor=request.user,
            account=account,
            created_by=request.user,
            contacts=f.cleaned_data["contacts"],
            attendees=f.cleaned_data["attendees"],
            **_meeting_fields(f),
        ),
        title=_("New meeting"),
        account=account,
        cancel_url=_account_url(account.pk, "meetings"),
        success_url=lambda m: _account_url(account.pk, "meetings"),
        success_message=_("The meeting was logged."),
    )


def _seen_updated_at(form: Any) -> dt.datetime | None:
    raw = form.cleaned_data.get("seen_updated_at") or ""
    try:
        return dt.datetime.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@login_required
@require_http_methods(["GET", "POST"])
def meeting_edit(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = get_object_or_404(Meeting.objects.visible_to(request.user).select_related("account"), pk=pk)
    _require(request, "accounts.change_meeting")
    form = web_forms.MeetingForm(_data(request), instance=meeting, account=meeting.account)
    return _form_flow(
        request,
        form=form,
        save=lambda f: services.meeting_update(
            meeting=meeting,
            actor=request.user,
            expected_updated_at=_seen_updated_at(f),
            contacts=f.cleaned_data["contacts"],
            attendees=f.cleaned_data["attendees"],
            **_meeting_fields(f),
        ),
        title=_("Edit meeting"),
        account=meeting.account,
        cancel_url=_account_url(meeting.account_id, "meetings"),
        success_url=lambda m: _account_url(meeting.account_id, "meetings"),
        success_message=_("The meeting was saved."),
    )


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


@login_required
@require_http_methods(["GET", "POST"])
def team_member_create(request: HttpRequest, pk: int) -> HttpResponse:
    account = _visible_account(request, pk)
    _require(request, "service_plans.add_accountteammember")
    form = web_forms.TeamMemberForm(_data(request), account=account)
    return _form_flow(
        request,
        form=form,
        save=lambda f: services.team_member_add(account=account, actor=request.user, **_fields(f)),
        title=_("Add a team member"),
        account=account,
        cancel_url=_account_url(account.pk, "team"),
        success_url=lambda m: _account_url(account.pk, "team"),
        success_message=_("The team member was added."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def team_member_edit(request: HttpRequest, pk: int) -> HttpResponse:
    member = get_object_or_404(AccountTeamMember.objects.visible_to(request.user).select_related("account", "user"), pk=pk)
    _require(request, "service_plans.change_accountteammember")
    form = web_forms.TeamMemberForm(_data(request), instance=member, account=member.account)
    return _form_flow(
        request,
        form=form,
        save=lambda f: services.team_member_update(member=member, actor=request.user, **_fields(f, exclude=("user",))),
        title=_("Edit team member"),
        account=member.account,
        cancel_url=_account_url(member.account_id, "team"),
        success_url=lambda m: _account_url(member.account_id, "team"),
        success_message=_("The team member was saved."),
    )


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
    url = _account_url(relationship.contact.account_id, "stakeholders")
    version = request.POST.get("version", "")
    status = 204
    try:
        services.team_relationship_remove(
            relationship=relationship, actor=request.user, expected_version=int(version) if version.isdigit() else None
        )
    except StaleVersion:
        messages.error(request, str(STALE_MESSAGE))
        status = 409
    else:
        messages.success(request, _("The relationship was removed."))
    if is_htmx(request):
        return htmx_redirect(request, url, status=status)
    return redirect(url)


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
    url = _account_url(link.from_contact.account_id, "stakeholders")
    version = request.POST.get("version", "")
    status = 204
    try:
        services.influence_link_delete(
            link=link, actor=request.user, expected_version=int(version) if version.isdigit() else None
        )
    except StaleVersion:
        messages.error(request, str(STALE_MESSAGE))
        status = 409
    else:
        messages.success(request, _("The line was removed."))
    if is_htmx(request):
        return htmx_redirect(request, url, status=status)
    return redirect(url)
