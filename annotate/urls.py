from django.urls import path

from annotate import views

app_name = "annotate"
urlpatterns = [
    path("", views.project_list, name="project_list"),
    path("projects/<int:project_id>/", views.project_detail, name="project_detail"),
    path("projects/<int:project_id>/examples/", views.example_list, name="example_list"),
]
