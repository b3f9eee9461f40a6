"""Pages for annotators: the annotate page, their recent annotations, editing one."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
