from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from api.views import annotating, auth, curation, data, projects, quality, reviewing, stats

app_name = "api"
urlpatterns = [
    path("auth/token/", auth.TokenView.as_view(), name="token"),
    path("users/", auth.UserCreateView.as_view(), name="users"),
    path("projects/", projects.ProjectListView.as_view(), name="projects"),
    path("projects/<int:project_id>/", projects.ProjectDetailView.as_view(), name="project"),
    path("projects/<int:project_id>/questions/", projects.QuestionsView.as_view(), name="questions"),
    path("projects/<int:project_id>/guidelines/", projects.GuidelineListView.as_view(), name="guidelines"),
    path("projects/<int:project_id>/members/", projects.MemberListView.as_view(), name="members"),
    path("projects/<int:project_id>/members/<str:username>/", projects.MemberDetailView.as_view(), name="member"),
    path("projects/<int:project_id>/imports/", data.ImportView.as_view(), name="imports"),
    path("projects/<int:project_id>/jobs/", data.ProjectJobListView.as_view(), name="project-jobs"),
    path("projects/<int:project_id>/examples/", data.ExampleListView.as_view(), name="examples"),
    path("projects/<int:project_id>/next/", annotating.NextView.as_view(), name="next"),
    path("projects/<int:project_id>/annotations/", annotating.AnnotationListView.as_view(), name="annotations"),
    path(
        "projects/<int:project_id>/annotations/import/",
        data.AnnotationImportView.as_view(),
        name="annotations-import",
    ),
    path("projects/<int:project_id>/skips/", annotating.SkipView.as_view(), name="skips"),
    path("projects/<int:project_id>/disagreements/", reviewing.DisagreementListView.as_view(), name="disagreements"),
    path("projects/<int:project_id>/resolutions/", reviewing.ResolutionListView.as_view(), name="resolutions"),
    path(
        "projects/<int:project_id>/resolutions/consensus/",
        reviewing.ConsensusView.as_view(),
        name="resolutions-consensus",
    ),
    path("projects/<int:project_id>/tiebreak/", reviewing.TiebreakView.as_view(), name="tiebreak"),
    path("projects/<int:project_id>/reopen/", reviewing.ReopenView.as_view(), name="reopen"),
    path("projects/<int:project_id>/agreement/", quality.AgreementView.as_view(), name="agreement"),
    path("projects/<int:project_id>/annotators/", quality.AnnotatorsView.as_view(), name="annotators"),
    path("projects/<int:project_id>/versions/", curation.VersionListView.as_view(), name="versions"),
    path("projects/<int:project_id>/filters/dry_run/", curation.FilterDryRunView.as_view(), name="filter-dry-run"),
    path("versions/<int:version_id>/", curation.VersionDetailView.as_view(), name="version"),
    path("versions/<int:version_id>/examples/", curation.VersionExampleListView.as_view(), name="version-examples"),
    path("versions/<int:version_id>/removals/", curation.VersionRemovalListView.as_view(), name="version-removals"),
    path("versions/<int:version_id>/stats/", stats.VersionStatsView.as_view(), name="version-stats"),
    path("projects/<int:project_id>/stats/", stats.ProjectStatsView.as_view(), name="project-stats"),
    path("filters/", curation.FilterCatalogView.as_view(), name="filters"),
    path("projects/<int:project_id>/queue/", curation.QueueScopeView.as_view(), name="queue-scope"),
    path("examples/<int:example_id>/", data.ExampleDetailView.as_view(), name="example"),
    path("annotations/<int:annotation_id>/", annotating.AnnotationDetailView.as_view(), name="annotation"),
    path("jobs/<int:job_id>/", data.JobDetailView.as_view(), name="job"),
    path("jobs/<int:job_id>/cancel/", data.JobCancelView.as_view(), name="job-cancel"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
]
