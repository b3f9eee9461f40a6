"""Errors that Django (not a DRF view) answers still leave the API with the error body, never an HTML page
(config/error_views.py, api/exceptions.py, config/middleware/unstorable_text.py)."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import ExampleFactory


def assert_error_body(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    return error


def test_a_url_that_is_no_endpoint_gets_the_error_body(api_as):
    response = api_as("manager").get("/api/v1/no-such-thing/")

    error = assert_error_body(response, 404, "not_found")
    assert "/api/v1/no-such-thing/" in error["message"]


def test_a_path_id_that_is_not_a_number_gets_the_error_body(api_as):
    response = api_as("manager").get("/api/v1/projects/abc/")

    assert_error_body(response, 404, "not_found")


def test_pages_keep_their_own_404_page(client, db):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_too_many_query_parameters_get_the_error_body(api_as, project):
    query = "&".join(f"f{number}=1" for number in range(1001))

    response = api_as("manager").get(f"/api/v1/projects/?{query}")

    error = assert_error_body(response, 400, "invalid")
    assert error["message"] == "More than 1000 query parameters: send fewer."


def test_too_many_multipart_fields_get_the_error_body(api_as, project):
    fields = {f"f{number}": "1" for number in range(1001)}
    fields["file"] = SimpleUploadedFile("data.jsonl", b'{"text": "a"}\n')

    response = api_as("manager").post(f"/api/v1/projects/{project.pk}/imports/", fields, format="multipart")

    error = assert_error_body(response, 400, "parse_error")
    assert error["message"] == "More than 1000 form fields: send fewer."


def test_a_page_size_that_is_not_a_whole_number_is_refused(api_as, project):
    for size in ("abc", "0", "-3", "2.5"):
        response = api_as("manager").get(f"/api/v1/projects/{project.pk}/examples/?page_size={size}")

        error = assert_error_body(response, 400, "invalid")
        assert error["message"] == "page_size: must be a whole number from 1 to 1000"


def test_a_page_size_over_the_maximum_is_cut_to_it(api_as, project):
    for _ in range(3):
        ExampleFactory(project=project)

    response = api_as("manager").get(f"/api/v1/projects/{project.pk}/examples/?page_size=5000")

    assert response.status_code == 200
    assert len(response.json()["results"]) == 3


def test_the_schema_declares_the_error_responses(client, db):
    schema = client.get("/api/v1/schema/?format=json").json()

    imports = schema["paths"]["/api/v1/projects/{project_id}/imports/"]["post"]["responses"]
    token = schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]
    projects = schema["paths"]["/api/v1/projects/"]["get"]["responses"]

    assert {"400", "401", "403", "404", "409", "413", "415"} <= set(imports)
    assert imports["413"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert {"400", "413", "429"} <= set(token) and "401" not in token
    assert "409" not in projects and "413" not in projects
    assert schema["components"]["schemas"]["Error"]["required"] == ["error"]
