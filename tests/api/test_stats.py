"""The statistics endpoints: a version's and a project's inspection statistics, sliced, compared and against
coverage targets; large ones through a job; bad parameters named (API.md, "Curation: dataset versions")."""

from __future__ import annotations

from unittest import mock

import pytest

from curation.models import DatasetVersion, Job, VersionMember, VersionStats
from curation.tasks import run_stats
from tests.factories import ExampleFactory, ProjectFactory

runs_jobs = pytest.mark.django_db(transaction=True, databases=["default", "progress"])


@pytest.fixture
def examples(project):
    return [
        ExampleFactory(project=project, content={"prompt": "Write a poem", "response": "Moon."}, metadata={"d": "art"}),
        ExampleFactory(project=project, content={"prompt": "Solve 2+2", "response": "4"}, metadata={"d": "math"}),
        ExampleFactory(project=project, content={"prompt": "Solve 3+3", "response": "6"}, metadata={"d": "math"}),
        ExampleFactory(project=project, content={"text": "A plain text."}, metadata={"d": "web"}),
    ]


@pytest.fixture
def version(project, examples):
    made = DatasetVersion.objects.create(project=project, status="ready", counts={"input": 4, "kept": 3})
    for example in examples[:3]:
        VersionMember.objects.create(version=made, example=example)
    return made


@pytest.mark.django_db
def test_a_reviewer_reads_a_versions_statistics(api_as, project, version):
    response = api_as("reviewer").get(f"/api/v1/versions/{version.pk}/stats/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["project"], body["version"], body["slice"], body["examples"], body["job"]) == (
        project.pk,
        version.pk,
        None,
        3,
        None,
    )
    stats = body["stats"]
    assert stats["shapes"] == {"instruction": 3}
    assert stats["metadata"]["d"]["values"] == [["math", 2], ["art", 1]]
    assert stats["fields"]["response"]["chars"]["max"] == len("Moon.")
    assert stats["tokens"]["method"] == "pre-tokenizer pieces"
    assert "compare" not in body and "coverage" not in body


@pytest.mark.django_db
def test_a_projects_statistics_are_of_all_its_examples(api_as, project, version):
    body = api_as("manager").get(f"/api/v1/projects/{project.pk}/stats/?slice=d").json()

    assert body["version"] is None and body["examples"] == 4 and body["slice"] == "d"
    assert body["stats"]["shapes"] == {"instruction": 3, "text": 1}
    assert [(v["value"], v["figures"]["examples"]) for v in body["stats"]["slice"]["values"]] == [
        ("math", 2),
        ("art", 1),
        ("web", 1),
    ]


@pytest.mark.django_db
def test_it_compares_with_another_version_and_checks_coverage(api_as, project, version):
    url = f"/api/v1/projects/{project.pk}/stats/?compare={version.pk}&coverage=d&target.math=0.25&target.art=0.5"
    body = api_as("reviewer").get(url).json()

    assert body["compare"]["version"] == version.pk and body["compare"]["examples"] == 3
    changes = body["compare"]["changes"]
    assert changes["examples"] == {"this": 4, "other": 3, "change": 1}
    assert {row["value"]: row["change"] for row in changes["shapes"]} == {"instruction": 0, "text": 1}
    assert body["coverage"]["rows"] == [
        {"value": "math", "target": 0.25, "count": 2, "share": 0.5, "gap": 0.25},
        {"value": "art", "target": 0.5, "count": 1, "share": 0.25, "gap": -0.25},
    ]
    assert body["coverage"]["rest"] == {"target": 0.25, "count": 1, "share": 0.25, "gap": 0.0}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("slice=123", "slice"),
        ("compare=first", "compare"),
        ("coverage=d&target.math=1.2", "target.math"),
        ("coverage=d&target.math=-1", "target.math"),
        ("coverage=d&target.math=0.6&target.art=0.6", "target"),
        ("target.math=0.5", "coverage"),
        ("coverage=d", "target"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(api_as, version, query, param):
    response = api_as("reviewer").get(f"/api/v1/versions/{version.pk}/stats/?{query}")

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"].startswith(f"{param}: ")
    assert param in error["details"]
    assert not VersionStats.objects.exists()


@pytest.mark.django_db
def test_comparing_with_another_projects_version_is_the_same_404_as_with_none(api_as, project, version):
    elsewhere = DatasetVersion.objects.create(project=ProjectFactory(), status="ready", counts={"kept": 0})
    client = api_as("manager")

    other_project = client.get(f"/api/v1/versions/{version.pk}/stats/?compare={elsewhere.pk}")
    missing = client.get(f"/api/v1/versions/{version.pk}/stats/?compare={elsewhere.pk + 1000}")

    assert other_project.status_code == missing.status_code == 404
    assert other_project.json() == missing.json()
    assert missing.json()["error"]["details"] == {"param": "compare"}


@runs_jobs
def test_a_large_version_answers_202_with_the_job_then_the_stored_statistics(api_as, version, settings):
    settings.WINNOW_STATS_INLINE_MAX = 2  # the version has 3 examples
    client = api_as("reviewer")

    with mock.patch("curation.tasks.run_stats.delay") as delay:
        first = client.get(f"/api/v1/versions/{version.pk}/stats/")
        again = client.get(f"/api/v1/versions/{version.pk}/stats/")

    assert first.status_code == again.status_code == 202
    job = first.json()["job"]
    assert job["kind"] == "stats" and job["status"] == "queued"
    assert again.json()["job"]["id"] == job["id"] and first.json()["jobs"] == [first.json()["job"]]
    delay.assert_called_once_with(job["id"])

    run_stats(job["id"])

    followed = client.get(f"/api/v1/jobs/{job['id']}/").json()  # the reviewer started it: theirs to read
    assert followed["status"] == "succeeded" and followed["progress"]["done"] == followed["progress"]["total"] == 3
    served = client.get(f"/api/v1/versions/{version.pk}/stats/")
    assert served.status_code == 200
    assert served.json()["job"] == job["id"] and served.json()["stats"]["examples"] == 3
    assert Job.objects.count() == 1


@runs_jobs
def test_a_comparison_with_a_large_version_waits_for_its_job_too(api_as, project, version, settings):
    settings.WINNOW_STATS_INLINE_MAX = 3
    client = api_as("manager")
    with mock.patch("curation.tasks.run_stats.delay"):
        waiting = client.get(f"/api/v1/versions/{version.pk}/stats/?compare={version.pk}")  # 3: in the request
        project_wide = client.get(f"/api/v1/projects/{project.pk}/stats/?compare={version.pk}")  # 4: a job

    assert waiting.status_code == 200 and waiting.json()["compare"]["changes"]["examples"]["change"] == 0
    assert project_wide.status_code == 202
    assert [job["kind"] for job in project_wide.json()["jobs"]] == ["stats"]


def test_the_schema_describes_both_endpoints(api_as, db):
    schema = api_as("anonymous").get("/api/v1/schema/?format=json").json()
    for path in ("/api/v1/versions/{version_id}/stats/", "/api/v1/projects/{project_id}/stats/"):
        operation = schema["paths"][path]["get"]
        assert {"200", "202", "400", "401", "403", "404"} <= set(operation["responses"])
        assert {p["name"] for p in operation["parameters"]} >= {"slice", "compare", "coverage", "target.{value}"}
