"""A manager can annotate a dataset version: the queue hands out only that version's examples until the limit is
lifted; nothing held or answered is lost either way."""

from __future__ import annotations

import pytest

from annotate.models import Membership, WorkItem
from annotate.services.annotations import annotation_submit
from annotate.services.queue import next_assignment, work_items_create
from curation.models import DatasetVersion, VersionMember
from curation.services.versions import VersionRequestError, queue_limit_to_version
from tests.factories import ExampleFactory, ProjectFactory, UserFactory


@pytest.fixture
def annotators(project):
    users = [UserFactory(username=f"worker-{n}") for n in range(3)]
    for user in users:
        Membership.objects.create(user=user, project=project, role="annotator")
    return users


def version_of(project, examples) -> DatasetVersion:
    version = DatasetVersion.objects.create(project=project, status="ready", name="clean set")
    VersionMember.objects.bulk_create(VersionMember(version=version, example=e) for e in examples)
    return version


def handed_out(project, users) -> set[int]:
    got = set()
    for user in users:
        held = next_assignment(project=project, annotator=user)
        if held is not None:
            got.add(held.example_id)
            annotation_submit(project=project, annotator=user, example_id=held.example_id, answers={"quality": 3})
    return got


@pytest.mark.django_db
def test_the_queue_hands_out_only_the_versions_examples_until_the_limit_is_lifted(project, annotators):
    project.overlap = 1
    project.save()
    project.questions.filter(name="topic").update(required=False)
    examples = ExampleFactory.create_batch(6, project=project)
    work_items_create(project=project)
    chosen = examples[:2]
    version = version_of(project, chosen)

    scope = queue_limit_to_version(project=project, version=version.pk)

    assert scope == {"version": version.pk, "label": "clean set", "examples": 2}
    project.refresh_from_db()
    assert project.queue_version == version.pk and project.queue_version_label == "clean set"
    assert handed_out(project, annotators) == {e.pk for e in chosen}
    assert handed_out(project, annotators) == set()  # overlap 1: both done, nothing else offered
    late = ExampleFactory(project=project)
    work_items_create(project=project)
    assert not WorkItem.objects.get(pk=late.pk).in_scope  # new examples are in no version yet

    queue_limit_to_version(project=project, version=None)

    project.refresh_from_db()
    assert project.queue_version is None
    offered = handed_out(project, annotators)
    assert offered and offered.isdisjoint({e.pk for e in chosen})


@pytest.mark.django_db
def test_an_example_held_when_the_limit_starts_can_still_be_answered(project, annotators):
    project.questions.filter(name="topic").update(required=False)
    examples = ExampleFactory.create_batch(3, project=project)
    work_items_create(project=project)
    held = next_assignment(project=project, annotator=annotators[0])
    others = [e for e in examples if e.pk != held.example_id]

    queue_limit_to_version(project=project, version=version_of(project, others).pk)

    annotation_submit(project=project, annotator=annotators[0], example_id=held.example_id, answers={"quality": 2})
    assert next_assignment(project=project, annotator=annotators[0]).example_id in {e.pk for e in others}


@pytest.mark.django_db
def test_only_a_ready_version_of_the_project_can_limit_its_queue(project):
    building = DatasetVersion.objects.create(project=project, status="building")
    elsewhere = DatasetVersion.objects.create(project=ProjectFactory(), status="ready")

    for bad in (building.pk, elsewhere.pk, "3", True):
        with pytest.raises(VersionRequestError):
            queue_limit_to_version(project=project, version=bad)
    project.refresh_from_db()
    assert project.queue_version is None


@pytest.mark.django_db
def test_the_api_sets_reads_and_lifts_the_limit(project, api_as):
    examples = ExampleFactory.create_batch(3, project=project)
    work_items_create(project=project)
    version = version_of(project, examples[:1])
    client = api_as("manager")

    set_ = client.put(f"/api/v1/projects/{project.pk}/queue/", {"version": version.pk}, format="json")
    read = api_as("reviewer").get(f"/api/v1/projects/{project.pk}/queue/")
    lifted = client.put(f"/api/v1/projects/{project.pk}/queue/", {"version": None}, format="json")
    bad = client.put(f"/api/v1/projects/{project.pk}/queue/", {"version": 10**9}, format="json")

    assert set_.status_code == 200 and set_.json()["examples"] == 1
    assert read.json() == {"version": version.pk, "label": "clean set", "examples": None}
    assert lifted.json()["version"] is None
    assert bad.status_code == 400 and "No such version" in bad.json()["error"]["message"]
    assert WorkItem.objects.filter(project=project, in_scope=False).count() == 0
