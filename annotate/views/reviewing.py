"""Pages for reviewers and managers: the disagreement queue, reviewing an example, guideline versions."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
