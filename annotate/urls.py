from django.urls import path

from annotate.views import annotating, examples, guidelines, projects, quality, reviewing

app_name = "annotate"
urlpatterns = [
    path("", projects.project_list, name="project_list"),
    path("projects/<int:project_id>/", projects.project_detail, name="project_detail"),
    path("projects/<int:project_id>/examples/", examples.example_list, name="example_list"),
    *annotating.urlpatterns,
    *reviewing.urlpatterns,
    *guidelines.urlpatterns,
    *quality.urlpatterns,
]
