from __future__ import annotations

import hashlib

import factory
import orjson
from django.contrib.auth import get_user_model

from annotate.models import Example, Guideline, Membership, Project, Question
from annotate.search_index import documents_write


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-for-tests")


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"project-{n}")
    overlap = 3


class GuidelineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Guideline

    project = factory.SubFactory(ProjectFactory)
    version = 1
    text = "Rate how helpful the response is."


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    project = factory.SubFactory(ProjectFactory)
    role = "annotator"


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Question

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"q{n}")
    kind = "rating"
    options = {"min": 1, "max": 5}
    level = "ordinal"


def _hash(content: dict) -> str:
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()


class ExampleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Example
        skip_postgeneration_save = True  # examples are immutable

    project = factory.SubFactory(ProjectFactory)
    external_id = factory.Sequence(lambda n: f"ex-{n}")
    content = factory.Sequence(lambda n: {"prompt": f"Question {n}?", "response": f"Answer {n}."})
    metadata = factory.LazyFunction(dict)
    content_hash = factory.LazyAttribute(lambda o: _hash(o.content))

    @factory.post_generation
    def searchable(obj, create, extracted, **kwargs):
        """Examples made here are indexed for search at once, as an import's are once its index job has run;
        ``searchable=False`` leaves one waiting."""
        if create and extracted is not False:
            documents_write(project_id=obj.project_id, low=obj.pk, high=obj.pk)
