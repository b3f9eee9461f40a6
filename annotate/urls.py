from django.urls import path

from annotate.views import annotating, examples, guidelines, manage, members, projects, quality, reviewing

app_name = "annotate"
urlpatterns = [
    path("", projects.project_list, name="project_list"),
    *manage.urlpatterns,
    path("projects/<int:project_id>/", projects.project_detail, name="project_detail"),
    path("projects/<int:project_id>/examples/", examples.example_list, name="example_list"),
    *annotating.urlpatterns,
    *reviewing.urlpatterns,
    *guidelines.urlpatterns,
    *members.urlpatterns,
    *quality.urlpatterns,
]
