from django.urls import path

from curation.views import builder, exports, jobs, queue, stats, versions

app_name = "curation"
urlpatterns = [
    path("projects/<int:project_id>/import/", jobs.import_page, name="import"),
    path("jobs/<int:job_id>/", jobs.job_detail, name="job_detail"),
    path("jobs/<int:job_id>/cancel/", jobs.job_cancel_view, name="job_cancel"),
    path("projects/<int:project_id>/versions/", versions.version_list, name="version_list"),
    path("projects/<int:project_id>/versions/new/", builder.version_new, name="version_new"),
    path("projects/<int:project_id>/versions/dry-run/", builder.filter_dry_run_view, name="filter_dry_run"),
    path("versions/<int:version_id>/", versions.version_detail, name="version_detail"),
    path("versions/<int:version_id>/examples/", versions.version_examples, name="version_examples"),
    path("versions/<int:version_id>/removals/", versions.version_removals, name="version_removals"),
    path("versions/<int:version_id>/cleaned/", versions.version_cleaned, name="version_cleaned"),
    path("versions/<int:version_id>/stats/", stats.version_stats, name="version_stats"),
    path("versions/<int:version_id>/stats/sample/", stats.version_stats_sample, name="version_stats_sample"),
    path("projects/<int:project_id>/stats/", stats.project_stats, name="project_stats"),
    path("projects/<int:project_id>/stats/sample/", stats.project_stats_sample, name="project_stats_sample"),
    path("projects/<int:project_id>/queue/", queue.queue_scope, name="queue_scope"),
    path("versions/<int:version_id>/export/", exports.export_page, name="export"),
    path("projects/<int:project_id>/templates/", exports.template_list, name="template_list"),
    path("templates/<int:template_id>/delete/", exports.template_delete, name="template_delete"),
]
