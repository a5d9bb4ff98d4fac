from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from kam import views
from web.views import workspace as web_workspace

urlpatterns = [
    path("", web_workspace.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/", include("kam.api.urls")),
    path("settings/", include("integrations.urls")),
    path("imports/", include("imports.urls")),
    path("", include("web.urls")),
]

handler404 = "kam.api.views.not_found"
