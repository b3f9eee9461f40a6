from django.urls import path

from curation import views

app_name = "curation"
urlpatterns = [
    path("projects/<int:project_id>/import/", views.import_page, name="import"),
    path("jobs/<int:job_id>/", views.job_detail, name="job_detail"),
    path("jobs/<int:job_id>/cancel/", views.job_cancel_view, name="job_cancel"),
]
