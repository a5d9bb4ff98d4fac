"""The API tokens page: each user lists, creates and revokes their own tokens."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from integrations.forms import TokenCreateForm
from integrations.models import ApiToken
from integrations.tokens import token_create, token_revoke


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    """GET: the user's tokens. POST: create one and show its key, this once (never stored, never shown again)."""
    new_key = None
    form = TokenCreateForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                _token, new_key = token_create(user=request.user, **form.cleaned_data)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                form = TokenCreateForm()
                status = 201
        if new_key is None:
            status = 400
    tokens = ApiToken.objects.filter(user=request.user).order_by("-created_at", "-id")
    return render(request, "integrations/tokens.html", {"tokens": tokens, "form": form, "new_key": new_key}, status=status)


@login_required
@require_POST
def token_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)  # another user's token is a 404
    token_revoke(token=token)
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("integrations:tokens")
