"""The export endpoints: the download with its counts, bad options named, the export job's files and manifest over
REST, and the project's chat templates with their checks and preview."""

from __future__ import annotations

import hashlib
from unittest import mock

import orjson
import pytest

from curation.models import ChatTemplate, Export
from curation.tasks import run_export
from tests.conftest import api_client_for

runs_jobs = pytest.mark.django_db(transaction=True, databases=["default", "progress"])


@pytest.fixture
def manager_api(cast):
    return api_client_for(cast["manager"])


@pytest.mark.django_db
def test_the_download_streams_the_file_and_says_what_it_left_out(labelled, manager_api):
    response = manager_api.get(f"/api/v1/versions/{labelled.version.pk}/export/?format=preference&with_id=true")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson"
    assert "version-" in response["Content-Disposition"] and ".jsonl" in response["Content-Disposition"]
    rows = [orjson.loads(line) for line in b"".join(response.streaming_content).splitlines()]
    assert {row["id"] for row in rows} == {"pair", "cands_a", "cands_resolved"}
    assert response["X-Winnow-Rows"] == "3"
    assert response["X-Winnow-Skipped"] == "6"
    assert response["X-Winnow-Skipped-By"] == "no_label=1, shape=4, tie=1"


@pytest.mark.django_db
def test_a_dry_run_answers_with_the_counts_and_the_problems(labelled, manager_api):
    response = manager_api.get(f"/api/v1/versions/{labelled.version.pk}/export/?format=text&template=mistral&dry_run=1")

    assert response.status_code == 200
    body = response.json()
    assert body["rows"] + body["skipped"] == 9
    # Mistral takes no separate system turn: the system prompt is merged into the first user turn, so it renders.
    assert {p["reason"] for p in body["problems"]} <= {"shape", "roles", "needs_template"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "option"),
    [
        ("format=csv", "format"),
        ("", "format"),
        ("format=messages&file=xlsx", "file"),
        ("format=messages&eval_fraction=0.2", "eval_fraction"),
        ("format=messages&template=gpt5", "template"),
        ("format=reward&question=nope", "question"),
        ("format=preference&min_annotations=zero", "min_annotations"),
        ("format=preference&min_agreement=1.5", "min_agreement"),
        ("format=messages&conversational=maybe", "conversational"),
        ("format=messages&colour=red", "colour"),
    ],
)
def test_bad_options_get_a_400_naming_the_option(labelled, manager_api, query, option):
    response = manager_api.get(f"/api/v1/versions/{labelled.version.pk}/export/?{query}")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_option"
    assert error["details"]["option"] == option
    assert error["message"].startswith(option)


@runs_jobs
def test_an_export_job_over_rest_lists_its_files_and_serves_them(labelled, cast):
    client = api_client_for(cast["manager"])
    with mock.patch("curation.tasks.run_export.delay") as delay:
        started = client.post(
            f"/api/v1/versions/{labelled.version.pk}/exports/",
            {"format": "preference", "eval_fraction": 0.34, "seed": 4, "file": "parquet"},
            format="json",
        )
    assert started.status_code == 202
    job_id = started.json()["job"]["id"]
    delay.assert_called_once_with(job_id)
    run_export(job_id)

    job = client.get(f"/api/v1/jobs/{job_id}/").json()
    assert job["status"] == "succeeded"
    listed = client.get(f"/api/v1/versions/{labelled.version.pk}/exports/").json()["results"]
    assert [e["id"] for e in listed] == [job["result"]["export"]]
    export = client.get(f"/api/v1/exports/{listed[0]['id']}/").json()
    assert export["manifest"]["counts"]["rows"] == 3
    for entry in export["files"]:
        body = b"".join(client.get(entry["url"]).streaming_content)
        assert hashlib.sha256(body).hexdigest() == entry["sha256"]
    manifest = orjson.loads(b"".join(client.get(export["manifest_url"]).streaming_content))
    assert manifest == export["manifest"]
    assert client.get(f"/api/v1/exports/{export['id']}/files/..%2F..%2Fsecret").status_code == 404
    assert Export.objects.count() == 1


@runs_jobs
def test_an_export_job_with_a_bad_option_is_refused_and_nothing_is_queued(labelled, cast):
    client = api_client_for(cast["manager"])
    with mock.patch("curation.tasks.run_export.delay") as delay:
        response = client.post(
            f"/api/v1/versions/{labelled.version.pk}/exports/",
            {"format": "messages", "fractions": [0, 2]},
            format="json",
        )
    assert response.status_code == 400
    assert response.json()["error"]["details"]["option"] == "fractions"
    delay.assert_not_called()


@pytest.mark.django_db
def test_a_template_that_does_not_compile_is_refused_naming_the_line(project, manager_api):
    response = manager_api.post(
        f"/api/v1/projects/{project.pk}/templates/",
        {"name": "broken", "source": "{% for m in messages %}\n{{ m['content'] \n{% endfor %}"},
        format="json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["details"]["field"] == "source"
    assert error["details"]["line"] in (2, 3)
    assert not ChatTemplate.objects.exists()


@pytest.mark.django_db
def test_templates_list_the_built_in_ones_first_and_refuse_their_names(project, manager_api):
    listed = manager_api.get(f"/api/v1/projects/{project.pk}/templates/").json()["results"]
    assert [t["name"] for t in listed[:3]] == ["chatml", "llama3", "mistral"]
    taken = manager_api.post(
        f"/api/v1/projects/{project.pk}/templates/", {"name": "chatml", "source": "{{ messages }}"}, format="json"
    )
    assert taken.status_code == 400 and taken.json()["error"]["details"]["field"] == "name"


@pytest.mark.django_db
def test_a_template_preview_renders_real_rows_and_reports_problems(labelled, manager_api):
    source = "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}</{{ m['role'] }}>{% endfor %}"
    response = manager_api.post(
        f"/api/v1/projects/{labelled.project.pk}/templates/preview/",
        {"template": {"source": source, "special_tokens": ["Paris"]}, "limit": 10},
        format="json",
    )
    assert response.status_code == 200
    rows = {row["external_id"]: row for row in response.json()["rows"]}
    assert rows["instruction"]["row"]["text"] == "<user>Name a prime number.</user><assistant>Seven.</assistant>"
    assert rows["with_system"]["problem"]["reason"] == "special_tokens"  # "Paris" is declared a special token
    assert "text" not in rows  # nothing to render in a text example
