from django.urls import path

from web.views import accounts, edit, workspace

app_name = "web"

urlpatterns = [
    path("accounts/", accounts.account_list, name="account_list"),
    path("accounts/export/", accounts.account_export, name="account_export"),
    path("accounts/lookup/", accounts.account_lookup, name="account_lookup"),
    path("accounts/new/", edit.account_create, name="account_create"),
    path("accounts/<int:pk>/", accounts.account_detail, name="account_detail"),
    path("accounts/<int:pk>/edit/", edit.account_edit, name="account_edit"),
    path("accounts/<int:pk>/contacts/new/", edit.contact_create, name="contact_create"),
    path("accounts/<int:pk>/contracts/new/", edit.contract_create, name="contract_create"),
    path("accounts/<int:pk>/invoices/new/", edit.invoice_create, name="invoice_create"),
    path("accounts/<int:pk>/meetings/new/", edit.meeting_create, name="meeting_create"),
    path("accounts/<int:pk>/team/new/", edit.team_member_create, name="team_member_create"),
    path("contacts/<int:pk>/edit/", edit.contact_edit, name="contact_edit"),
    path("contracts/<int:pk>/edit/", edit.contract_edit, name="contract_edit"),
    path("invoices/<int:pk>/edit/", edit.invoice_edit, name="invoice_edit"),
    path("meetings/<int:pk>/edit/", edit.meeting_edit, name="meeting_edit"),
    path("team/<int:pk>/edit/", edit.team_member_edit, name="team_member_edit"),
    path("renewals/", workspace.renewal_pipeline, name="renewal_pipeline"),
]
