from django.urls import path

from web.views import (
    accounts,
    alerts,
    calibration,
    dashboard,
    edit,
    exports,
    needs,
    notifications,
    overrides,
    plans,
    reviews,
    saved_views,
    workspace,
)

app_name = "web"

urlpatterns = [
    path("accounts/", accounts.account_list, name="account_list"),
    path("accounts/export/", accounts.account_export, name="account_export"),
    path("accounts/views/", saved_views.saved_view_menu, name="saved_view_menu"),
    path("accounts/views/<int:pk>/delete/", saved_views.saved_view_delete_view, name="saved_view_delete"),
    path("exports/<slug:name>/", exports.list_export, name="list_export"),
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
    # Tier and health overrides (approvers), the account plan
    path("accounts/<int:pk>/tier-override/", overrides.tier_override_set, name="tier_override_set"),
    path("accounts/<int:pk>/tier-override/end/", overrides.tier_override_end, name="tier_override_end"),
    path("accounts/<int:pk>/health-override/", overrides.health_override_set, name="health_override_set"),
    path("accounts/<int:pk>/health-override/end/", overrides.health_override_end, name="health_override_end"),
    path("accounts/<int:pk>/plans/new/", plans.plan_create, name="plan_create"),
    path("plans/<int:pk>/objectives/new/", plans.objective_create, name="objective_create"),
    path("plans/<int:pk>/actions/new/", plans.action_create, name="action_create"),
    path("objectives/<int:pk>/edit/", plans.objective_edit, name="objective_edit"),
    path("plan-actions/<int:pk>/edit/", plans.action_edit, name="action_edit"),
    # Plan reviews: schedule, record (decisions, commitments), recap sent, complete
    path("plans/<int:pk>/reviews/new/", reviews.review_create, name="review_create"),
    path("plans/<int:pk>/reviews/schedule/", reviews.review_schedule, name="review_schedule"),
    path("reviews/<int:pk>/record/", reviews.review_record, name="review_record"),
    path("reviews/<int:pk>/recap-sent/", reviews.review_recap_sent, name="review_recap_sent"),
    path("reviews/<int:pk>/complete/", reviews.review_complete, name="review_complete"),
    path("reviews/<int:pk>/pre-read/", reviews.review_preread, name="review_preread"),
    # Needs
    path("accounts/<int:pk>/needs/new/", needs.need_create, name="need_create"),
    path("needs/<int:pk>/edit/", needs.need_edit, name="need_edit"),
    # Alerts
    path("alerts/", alerts.alert_list, name="alert_list"),
    path("alerts/<int:pk>/", alerts.alert_detail, name="alert_detail"),
    path("alerts/<int:pk>/acknowledge/", alerts.alert_acknowledge, name="alert_acknowledge"),
    path("alerts/<int:pk>/snooze/", alerts.alert_snooze, name="alert_snooze"),
    path("alerts/<int:pk>/close/", alerts.alert_close, name="alert_close"),
    path("alerts/<int:pk>/reassign/", alerts.alert_reassign, name="alert_reassign"),
    path("alerts/<int:pk>/reschedule/", alerts.alert_reschedule, name="alert_reschedule"),
    path("accounts/<int:pk>/alerts/new/", edit.alert_raise, name="alert_raise"),
    path("alert-tasks/<int:pk>/complete/", alerts.alert_task_complete, name="alert_task_complete"),
    # The executive dashboard
    path("dashboard/", dashboard.executive_dashboard, name="dashboard"),
    path("dashboard/renewals/", dashboard.dashboard_renewals, name="dashboard_renewals"),
    path("dashboard/recompute/", dashboard.kpi_recompute, name="kpi_recompute"),
    path("dashboard/jobs/<int:pk>/", dashboard.kpi_job, name="kpi_job"),
    # Alert calibration (executives and administrators)
    path("dashboard/calibration/", calibration.alert_calibration_page, name="alert_calibration"),
    # Notifications
    path("notifications/", notifications.notification_list, name="notification_list"),
    path("notifications/read/", notifications.notification_read, name="notification_read"),
]
