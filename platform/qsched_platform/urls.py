from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/", include("annotate.api_urls")),
    path("api/", include("studies.api_urls")),
    path("api/", include("results.api_urls")),
    path("a/", include("annotate.page_urls")),
    path("", include("dashboard.urls")),
    path("", include("results.urls")),
]

# MEDIA_ROOT is never served as a folder, not even with DEBUG: images reach
# annotators only through signed, opaque links (annotate.image_links) and reports
# reach researchers only through views that check access (results.views).
