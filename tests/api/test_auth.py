from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import UserFactory


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", password="correct horse battery")


def test_it_gives_a_token_for_the_right_password(alice):
    response = APIClient().post("/api/v1/auth/token/", {"username": "alice", "password": "correct horse battery"})
    assert response.status_code == 200
    token = response.json()["token"]
    me = APIClient(HTTP_AUTHORIZATION=f"Token {token}").get("/api/v1/projects/")
    assert me.status_code == 200


def test_it_refuses_a_wrong_password_with_400(alice):
    response = APIClient().post("/api/v1/auth/token/", {"username": "alice", "password": "nope"})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "wrong username or password"


def test_it_answers_401_with_the_error_body_to_anonymous_requests(db):
    response = APIClient().get("/api/v1/projects/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["error"]["code"] == "not_authenticated"


def test_it_refuses_a_bad_token(db):
    response = APIClient(HTTP_AUTHORIZATION="Token not-a-token").get("/api/v1/projects/")
    assert response.status_code == 401


def test_it_refuses_a_weak_password_for_a_new_user(staff):
    from tests.conftest import api_client_for

    response = api_client_for(staff).post("/api/v1/users/", {"username": "bob", "password": "123"})
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("password:")


def test_it_refuses_a_taken_username(staff, alice):
    from tests.conftest import api_client_for

    response = api_client_for(staff).post("/api/v1/users/", {"username": "alice", "password": "another long one"})
    assert response.status_code == 400
    assert "already exists" in response.json()["error"]["message"]


def test_it_serves_the_schema_and_docs_from_local_assets(db):
    client = APIClient()
    schema = client.get("/api/v1/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ("/api/v1/projects/", "/api/v1/projects/{project_id}/imports/", "/api/v1/jobs/{job_id}/"):
        assert path in paths
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower()


def test_it_names_every_bad_detail_of_a_new_user(staff):
    from tests.conftest import api_client_for

    response = api_client_for(staff).post(
        "/api/v1/users/", {"username": "no spaces", "password": "123", "email": "not-an-address"}
    )

    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"username", "password", "email"}


def test_it_creates_a_user_who_can_sign_in(staff):
    from tests.conftest import api_client_for

    response = api_client_for(staff).post(
        "/api/v1/users/", {"username": "carol", "password": "a-long-pass-phrase", "email": "carol@example.com"}
    )

    assert response.status_code == 201 and response.json()["username"] == "carol"
    token = APIClient().post("/api/v1/auth/token/", {"username": "carol", "password": "a-long-pass-phrase"})
    assert token.status_code == 200
