from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core import openapi  # noqa: F401  (registers the token auth scheme)
from web import ops
from web import site as views
from web.annotations import api as annotations_api
from web.campaigns import api as tasks_api
from web.campaigns import org_api as campaigns_api
from web.campaigns import views as task_views

api_v1 = [
    path("campaigns/", campaigns_api.CampaignList.as_view(), name="campaign-list"),
    path("campaigns/<int:campaign_id>/", campaigns_api.CampaignDetail.as_view(), name="campaign-detail"),
    path("campaigns/<int:campaign_id>/annotations/", annotations_api.AnnotationList.as_view(), name="annotation-list"),
    path("campaigns/<int:campaign_id>/consensus/", annotations_api.ConsensusList.as_view(), name="consensus-list"),
    path("campaigns/<int:campaign_id>/next/", tasks_api.NextTaskView.as_view(), name="task-next"),
    path("assignments/<int:assignment_id>/submit/", tasks_api.SubmitView.as_view(), name="assignment-submit"),
    path("assignments/<int:assignment_id>/skip/", tasks_api.SkipView.as_view(), name="assignment-skip"),
    path("assignments/<int:assignment_id>/report/", tasks_api.ReportView.as_view(), name="assignment-report"),
    # Each app adds its own API routes in its api_urls.py:
    path("", include("web.campaigns.api_urls")),
    path("", include("web.organizations.api_urls")),
    path("", include("web.exports.api_urls")),
    path("", include("web.contributors.api_urls")),
    path("", include("web.authenticity.api_urls")),
    path("", include("web.assets.api_urls")),
    path("", include("web.annotations.api_urls")),
    path("", include("web.review.api_urls")),
    path("", include("web.assist.api_urls")),
]

handler404 = "core.api_errors.not_found"

urlpatterns = [
    path("", views.home, name="home"),
    # Answered by web.ops.ProbeMiddleware before the host check; named here so they can be reversed.
    path("healthz", ops.healthz, name="healthz"),
    path("readyz", ops.readyz, name="readyz"),
    path("metrics", ops.metrics_view, name="metrics"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("label/", task_views.label_home, name="label-home"),
    path("label/<int:campaign_id>/", task_views.label_campaign, name="label-campaign"),
    path("me/earnings/", include("web.payments.urls")),
    path("me/", include("web.contributors.urls")),
    path("assets/", include("web.assets.urls")),
    path("review/", include("web.review.urls")),
    path("field/", include("web.fieldwork.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
