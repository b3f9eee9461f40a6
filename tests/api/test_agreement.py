"""Agreement through the API (API.md, Agreement): the figures of real labels written through the queue, equal to the
reference packages on the same ratings; slices by metadata and by guideline version; caching until labels change."""

from __future__ import annotations

import krippendorff
import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from sklearn.metrics import cohen_kappa_score

from annotate.services.annotations import annotation_submit
from annotate.services.projects import guideline_add
from tests.agreement_data import ANNOTATORS, LABELS, TOPICS, write_labels
from tests.conftest import api_client_for
from tests.factories import ExampleFactory


@pytest.fixture
def labelled(project, cast):
    return write_labels(project)


def reliability(names=LABELS, field=0) -> np.ndarray:
    """Raters × items, as the krippendorff package takes them."""
    rows = []
    for column in range(len(ANNOTATORS)):
        row = []
        for name in names:
            answer = LABELS[name][1][column]
            value = np.nan if answer is None else answer[field]
            row.append(TOPICS.index(value) if field == 1 and answer is not None else value)
        rows.append(row)
    return np.array(rows, dtype=float)


def agreement(project, user, query=""):
    response = api_client_for(user).get(f"/api/v1/projects/{project.pk}/agreement/{query}")
    assert response.status_code == 200, response.content
    return response.json()


def test_the_figures_equal_the_reference_packages_on_the_same_labels(project, cast, labelled):
    figures = agreement(project, cast["reviewer"])["questions"]

    quality, topic = figures["quality"], figures["topic"]
    expected_quality = krippendorff.alpha(
        reliability(field=0), level_of_measurement="ordinal", value_domain=[1, 2, 3, 4, 5]
    )
    expected_topic = krippendorff.alpha(reliability(field=1), level_of_measurement="nominal")
    assert quality["level"] == "ordinal" and topic["level"] == "nominal"
    assert quality["krippendorff_alpha"] == pytest.approx(expected_quality, abs=1e-9)
    assert topic["krippendorff_alpha"] == pytest.approx(expected_topic, abs=1e-9)
    assert (topic["items"], topic["items_used"], topic["annotators"], topic["ratings"]) == (6, 6, 3, 17)
    assert topic["fleiss_kappa"] is None  # e4 has two ratings, the others three
    low, high = quality["alpha_interval"]
    assert low <= quality["krippendorff_alpha"] <= high


def test_cohens_kappa_names_each_pair_of_annotators_by_username(project, cast, labelled):
    pairs = agreement(project, cast["manager"])["questions"]["quality"]["cohen_kappa"]

    assert [pair["annotators"] for pair in pairs] == [["ann-a", "ann-b"], ["ann-a", "ann-c"], ["ann-b", "ann-c"]]
    data = reliability(field=0)
    first, second = data[0], data[1]
    expected = cohen_kappa_score(first, second, labels=[1, 2, 3, 4, 5], weights="quadratic")
    assert pairs[0]["items"] == 6
    assert pairs[0]["kappa"] == pytest.approx(expected, abs=1e-9)


def test_slices_by_a_metadata_key_measure_each_value_alone(project, cast, labelled):
    result = agreement(project, cast["reviewer"], "?by=lang")

    slices = {entry["value"]: entry for entry in result["slices"]}
    assert result["by"] == "lang"
    assert [entry["value"] for entry in result["slices"]] == ["en", "de", None]
    assert (slices["en"]["examples"], slices["de"]["examples"], slices[None]["examples"]) == (3, 2, 1)
    english = [name for name, (metadata, _) in LABELS.items() if metadata.get("lang") == "en"]
    expected = krippendorff.alpha(reliability(english, field=1), level_of_measurement="nominal")
    assert slices["en"]["questions"]["topic"]["krippendorff_alpha"] == pytest.approx(expected, abs=1e-9)
    assert slices[None]["questions"]["topic"]["items_used"] == 1


def test_figures_by_guideline_version_show_whether_a_change_helped(project, cast, labelled):
    guideline_add(project=project, text="v2: quality 3 means adequate", created_by=cast["manager"])
    e2 = project.examples.get(external_id="e2").pk
    annotation_submit(
        project=project, annotator=labelled["ann-c"], example_id=e2, answers={"quality": 3, "topic": "math"}
    )

    split = agreement(project, cast["reviewer"], "?by_guideline_version=true")["guideline_versions"]
    only_v2 = agreement(project, cast["reviewer"], "?guideline_version=2")

    assert [entry["version"] for entry in split] == [1, 2]
    assert split[0]["questions"]["topic"]["ratings"] == 16  # every v1 label but the one edited under v2
    assert split[1]["questions"]["topic"]["items"] == 1
    assert only_v2["guideline_version"] == 2
    assert only_v2["questions"]["topic"]["items_used"] == 0
    assert only_v2["questions"]["topic"]["krippendorff_alpha"] is None


def test_cached_figures_are_served_without_reading_labels_until_a_label_changes(
    project, cast, labelled, django_capture_on_commit_callbacks
):
    before = agreement(project, cast["reviewer"])["questions"]["topic"]["percent_agreement"]
    with CaptureQueriesContext(connection) as queries:
        assert agreement(project, cast["reviewer"])["questions"]["topic"]["percent_agreement"] == before
    assert not [query for query in queries if "annotate_annotation" in query["sql"]]

    e2 = project.examples.get(external_id="e2").pk
    with django_capture_on_commit_callbacks(execute=True):
        annotation_submit(
            project=project, annotator=labelled["ann-c"], example_id=e2, answers={"quality": 3, "topic": "math"}
        )

    assert agreement(project, cast["reviewer"])["questions"]["topic"]["percent_agreement"] > before


@pytest.mark.parametrize(
    ("query", "field"),
    [("?by=123", "by"), ("?guideline_version=0", "guideline_version"), ("?guideline_version=x", "guideline_version")],
)
def test_it_rejects_a_bad_query_naming_the_parameter(project, cast, query, field):
    response = api_client_for(cast["manager"]).get(f"/api/v1/projects/{project.pk}/agreement/{query}")

    assert response.status_code == 400
    assert field in response.json()["error"]["message"]


def test_a_project_without_labels_has_null_figures_not_errors(project, cast):
    figures = agreement(project, cast["manager"])["questions"]

    assert figures["topic"]["items"] == 0
    assert figures["topic"]["krippendorff_alpha"] is None
    assert figures["quality"]["percent_agreement"] is None
    assert figures["quality"]["cohen_kappa"] == []


@pytest.mark.django_db(transaction=True, databases=["default", "progress"])
def test_a_crowdsourced_batch_imported_is_measured_like_labels_made_here(project, cast):
    from annotate.services.queue import work_items_create
    from curation.models import Job
    from curation.tasks import run_annotation_import

    ExampleFactory(project=project, external_id="q1")
    ExampleFactory(project=project, external_id="q2")
    work_items_create(project=project)
    records = [
        {"example": example, "annotator": worker, "answers": {"quality": quality, "topic": "code"}}
        for example, ratings in (("q1", (1, 2, 1)), ("q2", (5, 5, 4)))
        for worker, quality in zip(("w1", "w2", "w3"), ratings, strict=True)
    ]
    before = agreement(project, cast["reviewer"])["questions"]["quality"]
    response = api_client_for(cast["manager"]).post(
        f"/api/v1/projects/{project.pk}/annotations/import/", {"records": records}, format="json"
    )
    assert response.status_code == 202
    run_annotation_import(response.json()["job"]["id"])  # as the worker would (the test queues no task)
    job = Job.objects.get(pk=response.json()["job"]["id"])
    assert job.status == "succeeded", (job.status, job.error)

    after = agreement(project, cast["reviewer"])["questions"]["quality"]

    data = np.array([[1, 5], [2, 5], [1, 4]], dtype=float)
    expected = krippendorff.alpha(data, level_of_measurement="ordinal", value_domain=[1, 2, 3, 4, 5])
    assert before["items_used"] == 0
    assert (after["items_used"], after["annotators"]) == (2, 3)
    assert after["krippendorff_alpha"] == pytest.approx(expected, abs=1e-9)


@pytest.mark.django_db(transaction=True, databases=["default", "progress"])
def test_a_slow_projects_figures_are_served_stale_while_a_job_measures_them_again(project, cast, monkeypatch):
    from annotate import figures
    from curation.models import Job
    from curation.tasks import run_agreement

    monkeypatch.setattr(figures, "SLOW_SECONDS", 0.0)  # every project counts as large
    labelled = write_labels(project)
    first = agreement(project, cast["reviewer"])
    assert "stale" not in first
    e2 = project.examples.get(external_id="e2").pk
    annotation_submit(
        project=project, annotator=labelled["ann-c"], example_id=e2, answers={"quality": 3, "topic": "math"}
    )

    stale = agreement(project, cast["reviewer"])
    again = agreement(project, cast["reviewer"])

    assert stale["stale"] is True and again["stale"] is True
    assert stale["questions"] == first["questions"] and stale["labels_version"] == first["labels_version"]
    jobs = Job.objects.filter(kind="agreement", project=project)
    assert jobs.count() == 1  # one job, however many requests find the figures stale
    fresh = agreement(project, cast["reviewer"], "?fresh=true")
    assert "stale" not in fresh and fresh["labels_version"] > first["labels_version"]

    run_agreement(jobs.get().pk)  # as the worker does (queued to the broker; no worker runs in this test)

    job = jobs.get()
    assert job.status == "succeeded" and job.result["labels_version"] == fresh["labels_version"]
    now = agreement(project, cast["reviewer"])
    assert "stale" not in now
    assert now["questions"]["topic"]["percent_agreement"] > first["questions"]["topic"]["percent_agreement"]
