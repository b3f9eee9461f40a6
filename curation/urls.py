from django.urls import path

app_name = "curation"
urlpatterns: list = []
