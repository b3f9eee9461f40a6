"""The curation API: making versions, reading them, their kept examples and removals, the filter catalog and the
dry run (API.md, "Curation: dataset versions")."""

from __future__ import annotations

from unittest import mock

import pytest

from curation.models import DatasetVersion, Job, Removal, VersionMember
from curation.tasks import run_pipeline
from tests.factories import ExampleFactory

runs_jobs = pytest.mark.django_db(transaction=True, databases=["default", "progress"])


def post_version(client, project, body):
    with mock.patch("curation.tasks.run_pipeline.delay"):
        return client.post(f"/api/v1/projects/{project.pk}/versions/", body, format="json")


@runs_jobs
def test_a_manager_makes_a_version_and_reads_it_its_examples_and_removals(project, api_as):
    kept = ExampleFactory(project=project, content={"text": "Hello world, this is fine.  \n\n\n"})
    empty = ExampleFactory(project=project, content={"text": "   "})
    client = api_as("manager")
    steps = [{"op": "clean", "rules": ["normalize_whitespace"]}, {"op": "filter", "rules": [{"name": "empty"}]}]

    response = post_version(client, project, {"steps": steps, "name": "tidy"})

    assert response.status_code == 202
    job_id = response.json()["job"]["id"]
    with mock.patch("curation.tasks.run_pipeline_chunks.delay"):
        run_pipeline(job_id)
    job = client.get(f"/api/v1/jobs/{job_id}/").json()
    assert job["status"] == "succeeded" and job["progress"]["done"] == job["progress"]["total"] == 2
    version_id = job["result"]["version"]

    version = client.get(f"/api/v1/versions/{version_id}/").json()
    assert version["name"] == "tidy" and version["project"] == project.pk and version["parent"] is None
    assert version["trial"] is False and version["steps"][0]["op"] == "clean"
    assert version["counts"] == {"input": 2, "kept": 1, "removed": 1, "removed_by": {"filter.empty": 1}}
    listed = client.get(f"/api/v1/projects/{project.pk}/versions/").json()
    assert [v["id"] for v in listed["results"]] == [version_id]

    examples = client.get(f"/api/v1/versions/{version_id}/examples/").json()["results"]
    assert [(e["id"], e["content"], e["cleaned"]) for e in examples] == [
        (kept.pk, {"text": "Hello world, this is fine."}, True)
    ]
    removals = client.get(f"/api/v1/versions/{version_id}/removals/?rule=filter.empty").json()["results"]
    assert [(r["example"], r["rule"], r["step"]) for r in removals] == [(empty.pk, "filter.empty", 2)]
    assert client.get(f"/api/v1/versions/{version_id}/removals/?rule=dedup.exact").json()["results"] == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "code", "words", "details"),
    [
        ({"steps": [{"op": "dedup", "method": "minhash", "ngram": 40}]}, "invalid_step", "steps[0] (dedup): ngram",
         {"step": 0, "op": "dedup", "option": "ngram"}),
        ({"steps": [{"op": "filter", "rules": [{"name": "min_words", "value": 3}, {"name": "vibes"}]}]},
         "invalid_step", "rules[1].name", {"step": 0, "op": "filter", "option": "rules[1].name"}),
        ({"steps": [{"op": "teleport"}]}, "invalid_step", "unknown op", {"option": "op"}),
        ({"steps": [], "parent": 999999}, "invalid", "No such version", {"field": "parent"}),
        ({"steps": [], "sample": 0}, "invalid", "sample", {"field": "sample"}),
        ({"steps": "all"}, "invalid_step", "must be a list", {"field": "steps"}),
        ({}, "invalid", "steps", None),
    ],
)  # fmt: skip
def test_bad_requests_answer_400_naming_what_to_fix_and_make_nothing(project, api_as, body, code, words, details):
    response = post_version(api_as("manager"), project, body)

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == code and words in error["message"]
    for key, value in (details or {}).items():
        assert error["details"][key] == value
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_an_unknown_filter_rule_lists_the_catalog(project, api_as):
    response = post_version(api_as("manager"), project, {"steps": [{"op": "filter", "rules": [{"name": "vibes"}]}]})

    catalog = response.json()["error"]["details"]["catalog"]
    assert "min_words" in catalog and "gopher_quality" in catalog and "language" in catalog


@pytest.mark.django_db
def test_the_catalog_lists_every_rule_with_its_options_and_defaults(api_as):
    rules = {rule["name"]: rule for rule in api_as("annotator").get("/api/v1/filters/").json()["results"]}

    expected = {"empty", "min_words", "max_words", "gopher_quality", "gopher_repetition", "c4_boilerplate",
                "response_repeats_prompt", "conflicting_responses", "language", "label", "regex_deny"}  # fmt: skip
    assert expected <= set(rules)
    assert rules["min_words"]["kind"] == "record" and rules["conflicting_responses"]["kind"] == "group"
    assert rules["min_words"]["description"]
    assert "value" in str(rules["min_words"]["options"])


@pytest.mark.django_db
def test_building_versions_are_seen_by_no_one(project, api_as):
    building = DatasetVersion.objects.create(project=project, status="building")
    client = api_as("manager")

    assert client.get(f"/api/v1/versions/{building.pk}/").status_code == 404
    assert client.get(f"/api/v1/projects/{project.pk}/versions/").json()["results"] == []


@pytest.mark.django_db
def test_a_dry_run_reports_what_a_filter_would_remove_without_making_a_version(project, api_as):
    short = ExampleFactory(project=project, content={"prompt": "Hi", "response": "Yo"})
    ExampleFactory(project=project, content={"prompt": "Tell me", "response": "a long enough answer for this"})

    response = api_as("manager").post(
        f"/api/v1/projects/{project.pk}/filters/dry_run/",
        {"rules": [{"name": "min_words", "field": "response", "value": 3}]},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["sample"] == 2 and body["removed"] == 1 and body["removed_by"] == {"filter.min_words": 1}
    assert body["removals"][0]["example"] == short.pk
    assert not DatasetVersion.objects.exists() and not VersionMember.objects.exists()
    assert not Removal.objects.exists()


@pytest.mark.django_db
def test_a_dry_run_with_a_bad_rule_is_a_400(project, api_as):
    response = api_as("manager").post(
        f"/api/v1/projects/{project.pk}/filters/dry_run/", {"rules": [{"name": "min_words", "value": "x"}]},
        format="json",
    )  # fmt: skip

    assert response.status_code == 400
    assert "rules[0].value" in response.json()["error"]["message"]
