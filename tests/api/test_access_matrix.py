"""Every endpoint against the fixed cast: what each role gets back (API.md, the role table)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotate.models import Membership
from annotate.services.annotations import annotation_submit
from annotate.services.queue import next_assignment, work_items_create
from curation.models import ChatTemplate, DatasetVersion, Export, Job, Removal, VersionMember
from tests.conftest import ROLES, api_client_for
from tests.factories import ExampleFactory, UserFactory

TEMPLATE = "<<{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}>>"
# expected status per role, in the order of ROLES: manager, reviewer, annotator, outsider, anonymous
ANSWERS = {"quality": 4, "topic": "code"}
MATRIX = [
    # The index describes the API and holds no data, like the schema: everyone may read it.
    ("get", "/api/v1/", None, (200, 200, 200, 200, 200)),
    ("get", "/api/v1/projects/{p}/", None, (200, 200, 200, 404, 401)),
    ("patch", "/api/v1/projects/{p}/", {"description": "new"}, (200, 403, 403, 404, 401)),
    ("delete", "/api/v1/projects/{p}/", None, (204, 403, 403, 404, 401)),
    ("get", "/api/v1/projects/{p}/questions/", None, (200, 200, 200, 404, 401)),
    ("post", "/api/v1/projects/{p}/questions/", {"name": "extra", "kind": "text"}, (201, 403, 403, 404, 401)),
    ("patch", "/api/v1/projects/{p}/questions/topic/", {"help": "Pick one."}, (200, 403, 403, 404, 401)),
    # The question has answers (annotation {a}): a manager's removal is refused.
    ("delete", "/api/v1/projects/{p}/questions/quality/", None, (409, 403, 403, 404, 401)),
    ("get", "/api/v1/projects/{p}/guidelines/", None, (200, 200, 200, 404, 401)),
    ("post", "/api/v1/projects/{p}/guidelines/", {"text": "v2"}, (201, 403, 403, 404, 401)),
    ("get", "/api/v1/projects/{p}/members/", None, (200, 200, 403, 404, 401)),
    ("post", "/api/v1/projects/{p}/members/", {"username": "newcomer", "role": "annotator"}, (201, 403, 403, 404, 401)),
    ("delete", "/api/v1/projects/{p}/members/annotator-user/", None, (204, 403, 403, 404, 401)),
    ("post", "/api/v1/projects/{p}/imports/", {"records": [{"text": "hi"}]}, (202, 403, 403, 404, 401)),
    ("get", "/api/v1/projects/{p}/jobs/", None, (200, 403, 403, 404, 401)),
    ("get", "/api/v1/jobs/{j}/", None, (200, 404, 404, 404, 401)),
    ("post", "/api/v1/jobs/{j}/cancel/", None, (200, 404, 404, 404, 401)),
    ("get", "/api/v1/projects/{p}/examples/", None, (200, 200, 403, 404, 401)),
    ("get", "/api/v1/examples/{e}/", None, (200, 200, 403, 404, 401)),
    ("put", "/api/v1/examples/{e}/", {"content": {"text": "changed"}}, (405, 405, 405, 405, 401)),
    ("patch", "/api/v1/examples/{e}/", {"content": {"text": "changed"}}, (405, 405, 405, 405, 401)),
    ("delete", "/api/v1/examples/{e}/", None, (405, 405, 405, 405, 401)),
    ("get", "/api/v1/projects/", None, (200, 200, 200, 200, 401)),
    ("post", "/api/v1/projects/", {"name": "mine"}, (201, 201, 201, 201, 401)),
    ("post", "/api/v1/users/", {"username": "fresh", "password": "a-long-pass-phrase"}, (403, 403, 403, 403, 401)),
    # Annotating: every member holds example {e}; {a} is another annotator's annotation of example {d}.
    ("get", "/api/v1/projects/{p}/next/", None, (200, 200, 200, 404, 401)),
    ("post", "/api/v1/projects/{p}/annotations/", {"example": "{e}", "answers": ANSWERS}, (201, 201, 201, 404, 401)),
    ("get", "/api/v1/projects/{p}/annotations/", None, (200, 200, 200, 404, 401)),
    ("get", "/api/v1/annotations/{a}/", None, (200, 200, 404, 404, 401)),
    ("post", "/api/v1/projects/{p}/skips/", {"example": "{e}"}, (204, 204, 204, 404, 401)),
    (
        "post",
        "/api/v1/projects/{p}/annotations/import/",
        {"records": [{"example": "ex-1", "annotator": "crowd-1", "answers": ANSWERS}]},
        (202, 403, 403, 404, 401),
    ),
    # Reviewing
    ("get", "/api/v1/projects/{p}/disagreements/?question=quality", None, (200, 200, 403, 404, 401)),
    ("get", "/api/v1/projects/{p}/resolutions/", None, (200, 200, 403, 404, 401)),
    (
        "post",
        "/api/v1/projects/{p}/resolutions/",
        {"example": "{d}", "question": "quality", "value": 3},
        (201, 201, 403, 404, 401),
    ),
    (
        "post",
        "/api/v1/projects/{p}/resolutions/consensus/",
        {"question": "quality", "method": "unanimous"},
        (200, 200, 403, 404, 401),
    ),
    ("post", "/api/v1/projects/{p}/tiebreak/", {"examples": ["{d}"]}, (200, 200, 403, 404, 401)),
    ("post", "/api/v1/projects/{p}/reopen/", {"examples": ["{d}"]}, (200, 200, 403, 404, 401)),
    # Agreement and annotator statistics: built from everyone's labels
    ("get", "/api/v1/projects/{p}/agreement/", None, (200, 200, 403, 404, 401)),
    ("get", "/api/v1/projects/{p}/agreement/?by=lang&by_guideline_version=true", None, (200, 200, 403, 404, 401)),
    ("get", "/api/v1/projects/{p}/annotators/?question=quality", None, (200, 200, 403, 404, 401)),
    ("get", "/api/v1/projects/{p}/annotators/?question=topic&by=lang", None, (200, 200, 403, 404, 401)),
    # Curation: versions are read by those who may browse examples, made by managers
    ("get", "/api/v1/projects/{p}/versions/", None, (200, 200, 403, 404, 401)),
    ("post", "/api/v1/projects/{p}/versions/", {"steps": []}, (202, 403, 403, 404, 401)),
    ("get", "/api/v1/versions/{v}/", None, (200, 200, 403, 404, 401)),
    ("get", "/api/v1/versions/{v}/examples/", None, (200, 200, 403, 404, 401)),
    ("get", "/api/v1/versions/{v}/removals/", None, (200, 200, 403, 404, 401)),
    ("get", "/api/v1/versions/{v}/stats/", None, (200, 200, 403, 404, 401)),
    ("get", "/api/v1/versions/{v}/stats/?slice=lang&compare={v}", None, (200, 200, 403, 404, 401)),
    ("get", "/api/v1/projects/{p}/stats/", None, (200, 200, 403, 404, 401)),
    ("get", "/api/v1/projects/{p}/stats/?compare={v}&coverage=lang&target.en=0.5", None, (200, 200, 403, 404, 401)),
    ("get", "/api/v1/filters/", None, (200, 200, 200, 200, 401)),
    ("post", "/api/v1/projects/{p}/filters/dry_run/", {"rules": [{"name": "empty"}]}, (200, 403, 403, 404, 401)),
    ("get", "/api/v1/projects/{p}/queue/", None, (200, 200, 403, 404, 401)),
    ("put", "/api/v1/projects/{p}/queue/", {"version": "{v}"}, (200, 403, 403, 404, 401)),
    # Export: data leaving the project, and the templates that shape it, are the managers'
    ("get", "/api/v1/versions/{v}/export/?format=messages", None, (200, 403, 403, 404, 401)),
    ("get", "/api/v1/versions/{v}/export/?format=annotations&file=parquet", None, (200, 403, 403, 404, 401)),
    ("post", "/api/v1/versions/{v}/exports/", {"format": "messages", "eval_fraction": 0.1}, (202, 403, 403, 404, 401)),
    ("get", "/api/v1/versions/{v}/exports/", None, (200, 403, 403, 404, 401)),
    ("get", "/api/v1/exports/{x}/", None, (200, 403, 403, 404, 401)),
    ("get", "/api/v1/exports/{x}/files/manifest.json", None, (200, 403, 403, 404, 401)),
    ("get", "/api/v1/projects/{p}/templates/", None, (200, 403, 403, 404, 401)),
    ("post", "/api/v1/projects/{p}/templates/", {"name": "plain", "source": TEMPLATE}, (201, 403, 403, 404, 401)),
    ("get", "/api/v1/templates/{t}/", None, (200, 403, 403, 404, 401)),
    ("put", "/api/v1/templates/{t}/", {"source": TEMPLATE + "."}, (200, 403, 403, 404, 401)),
    ("delete", "/api/v1/templates/{t}/", None, (204, 403, 403, 404, 401)),
    ("post", "/api/v1/projects/{p}/templates/preview/", {"template": "chatml"}, (200, 403, 403, 404, 401)),
]


@pytest.fixture
def objects(project, cast, settings, django_capture_on_commit_callbacks):
    UserFactory(username="newcomer")
    example = ExampleFactory(project=project)
    work_items_create(project=project)
    for role in ("manager", "reviewer", "annotator"):
        assert next_assignment(project=project, annotator=cast[role]).example_id == example.pk
    other = UserFactory(username="other-annotator")
    Membership.objects.create(user=other, project=project, role="annotator")
    done = ExampleFactory(project=project)
    work_items_create(project=project)
    assert next_assignment(project=project, annotator=other).example_id == done.pk
    annotation, _ = annotation_submit(project=project, annotator=other, example_id=done.pk, answers=ANSWERS)
    job = Job.objects.create(kind=Job.Kind.IMPORT, project=project, created_by=cast["manager"])
    version = DatasetVersion.objects.create(project=project, status="ready", counts={"input": 2, "kept": 1})
    VersionMember.objects.create(version=version, example=example)
    Removal.objects.create(version=version, example=done, rule="filter.empty", step=0, detail={"field": "text"})
    export = Export.objects.create(project=project, version=version, directory="job-0", manifest={"files": []})
    (settings.WINNOW_EXPORT_DIR / "job-0").mkdir(parents=True)
    (settings.WINNOW_EXPORT_DIR / "job-0" / "manifest.json").write_text("{}")
    template = ChatTemplate.objects.create(project=project, name="stored", source=TEMPLATE)
    return {
        "p": project.pk,
        "e": example.pk,
        "j": job.pk,
        "d": done.pk,
        "a": annotation.pk,
        "v": version.pk,
        "x": export.pk,
        "t": template.pk,
    }


def fill(body, objects):
    """The request body with "{name}" placeholders replaced by the ids in ``objects``."""
    if isinstance(body, dict):
        return {key: fill(value, objects) for key, value in body.items()}
    if isinstance(body, list):
        return [fill(value, objects) for value in body]
    if isinstance(body, str) and body.startswith("{") and body.endswith("}"):
        return objects[body[1:-1]]
    return body


@pytest.mark.parametrize(("method", "url", "body", "expected"), MATRIX, ids=[f"{m} {u}" for m, u, _, _ in MATRIX])
@pytest.mark.parametrize("role", ROLES)
def test_it_answers_each_role_as_the_role_table_says(
    role, method, url, body, expected, cast, objects, django_capture_on_commit_callbacks
):
    client = api_client_for(cast[role])
    with django_capture_on_commit_callbacks(execute=False):
        response = getattr(client, method)(url.format(**objects), fill(body, objects), format="json")
    assert response.status_code == expected[ROLES.index(role)], response.content
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"] and error["message"]


def test_it_lets_staff_create_users_and_act_as_manager(project, staff):
    client = api_client_for(staff)
    created = client.post("/api/v1/users/", {"username": "fresh", "password": "a-long-pass-phrase"}, format="json")
    assert created.status_code == 201
    assert created.json()["username"] == "fresh"
    assert client.patch(f"/api/v1/projects/{project.pk}/", {"overlap": 2}, format="json").status_code == 200


def test_it_lists_only_the_projects_a_user_belongs_to(cast, project):
    other = api_client_for(cast["outsider"]).get("/api/v1/projects/").json()
    mine = api_client_for(cast["annotator"]).get("/api/v1/projects/").json()
    assert other["results"] == []
    assert [p["id"] for p in mine["results"]] == [project.pk]
    assert mine["results"][0]["role"] == "annotator"


def test_it_rejects_a_multipart_import_from_an_annotator(cast, project):
    upload = SimpleUploadedFile("data.jsonl", b'{"text": "hi"}\n')
    response = api_client_for(cast["annotator"]).post(
        f"/api/v1/projects/{project.pk}/imports/", {"file": upload}, format="multipart"
    )
    assert response.status_code == 403
    assert not Job.objects.exists()


@pytest.mark.parametrize("kind", ["examples", "annotations", "versions", "exports", "templates"])
def test_it_gives_an_outsider_one_404_whether_the_object_exists_elsewhere_or_not(kind, cast, objects):
    """Otherwise the answer would tell an outsider which ids exist in projects they cannot see."""
    existing = {
        "examples": objects["e"],
        "annotations": objects["a"],
        "versions": objects["v"],
        "exports": objects["x"],
        "templates": objects["t"],
    }[kind]
    client = api_client_for(cast["outsider"])

    elsewhere = client.get(f"/api/v1/{kind}/{existing}/")
    nowhere = client.get(f"/api/v1/{kind}/{existing + 10_000}/")

    assert elsewhere.status_code == nowhere.status_code == 404
    assert elsewhere.json() == nowhere.json()
