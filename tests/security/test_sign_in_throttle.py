"""Failed sign-ins are counted per username and per address in the shared (Redis) cache; past the limit the token
endpoint answers 429 with Retry-After and the sign-in page says when to try again (config/sign_in.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from tests.factories import UserFactory

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"
TOKEN_URL = "/api/v1/auth/token/"


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", password=PASSWORD)


def token_attempt(password: str, username: str = "alice", address: str = "10.0.0.1"):
    body = {"username": username, "password": password}
    return APIClient(REMOTE_ADDR=address).post(TOKEN_URL, body, format="json")


def page_attempt(password: str, username: str = "alice", address: str = "10.0.0.1"):
    return Client(REMOTE_ADDR=address).post(reverse("login"), {"username": username, "password": password})


def test_it_refuses_the_token_endpoint_after_ten_failures_for_a_username(alice):
    for _ in range(10):
        assert token_attempt("wrong").status_code == 400

    response = token_attempt(PASSWORD)

    assert response.status_code == 429
    assert 890 <= int(response["Retry-After"]) <= 900
    error = response.json()["error"]
    assert error["code"] == "too_many_attempts"
    assert error["message"].startswith("Too many failed sign-ins for this username. Try again in 15 minutes (after ")
    assert error["details"]["retry_after"] == int(response["Retry-After"])


def test_it_counts_a_username_whatever_its_case(alice):
    for username in ("alice", "Alice", "ALICE") * 4:
        token_attempt("wrong", username=username)

    assert token_attempt(PASSWORD).status_code == 429


def test_it_refuses_an_address_after_its_limit_across_usernames(alice, settings):
    settings.WINNOW_SIGN_IN_FAILURES_PER_ADDRESS = 5
    for number in range(5):
        assert token_attempt("wrong", username=f"guess{number}").status_code == 400

    refused = token_attempt(PASSWORD)
    elsewhere = token_attempt(PASSWORD, address="10.0.0.2")

    assert refused.status_code == 429
    assert "from your address" in refused.json()["error"]["message"]
    assert elsewhere.status_code == 200


def test_it_forgets_a_usernames_failures_after_a_successful_sign_in(alice):
    for _ in range(9):
        token_attempt("wrong")
    assert token_attempt(PASSWORD).status_code == 200

    for _ in range(9):
        assert token_attempt("wrong").status_code == 400
    assert token_attempt(PASSWORD).status_code == 200


def test_it_does_not_count_a_request_without_a_password(alice):
    for _ in range(12):
        assert APIClient().post(TOKEN_URL, {"username": "alice"}, format="json").status_code == 400

    assert token_attempt(PASSWORD).status_code == 200


def test_it_marks_the_token_response_as_not_to_be_stored(alice):
    response = token_attempt(PASSWORD)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_the_sign_in_page_says_when_to_try_again(alice):
    for _ in range(10):
        assert page_attempt("wrong").status_code == 200

    response = page_attempt(PASSWORD)

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    html = response.content.decode()
    assert "Too many failed sign-ins for this username. Try again in 15 minutes" in html
    assert 'value="alice"' in html
    assert "_auth_user_id" not in response.client.session


def test_the_sign_in_page_and_the_token_endpoint_share_the_count(alice):
    for _ in range(5):
        page_attempt("wrong")
    for _ in range(5):
        token_attempt("wrong")

    assert page_attempt(PASSWORD).status_code == 429
    assert token_attempt(PASSWORD).status_code == 429


def test_the_sign_in_page_still_signs_in_below_the_limit(alice):
    for _ in range(9):
        page_attempt("wrong")

    response = page_attempt(PASSWORD)

    assert response.status_code == 302


def test_the_count_is_kept_in_redis_where_every_process_sees_it(alice):
    for _ in range(10):
        token_attempt("wrong")
    assert django_settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    prefix = django_settings.CACHES["default"]["KEY_PREFIX"]
    probe = (
        "import django; django.setup(); from django.conf import settings; "
        f"settings.CACHES['default']['KEY_PREFIX'] = {prefix!r}; "
        "from config.sign_in import FailedSignIns; "
        "print(FailedSignIns(username='alice', address='10.0.0.9').lockout().message)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}

    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Too many failed sign-ins for this username")


def test_it_reads_the_client_address_behind_trusted_proxies(alice, settings):
    settings.WINNOW_NUM_PROXIES = 1
    settings.WINNOW_SIGN_IN_FAILURES_PER_ADDRESS = 3
    forwarded = {"HTTP_X_FORWARDED_FOR": "203.0.113.7"}
    for number in range(3):
        APIClient(**forwarded).post(TOKEN_URL, {"username": f"u{number}", "password": "x"}, format="json")

    same_client = APIClient(HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7")  # the client's own claim is not trusted
    other_client = APIClient(HTTP_X_FORWARDED_FOR="198.51.100.1")

    body = {"username": "alice", "password": PASSWORD}
    assert same_client.post(TOKEN_URL, body, format="json").status_code == 429
    assert other_client.post(TOKEN_URL, body, format="json").status_code == 200


def test_the_admin_signs_in_through_the_counted_page(alice):
    client = Client()

    posted = client.post("/admin/login/?next=/admin/", {"username": "alice", "password": PASSWORD})
    followed = client.get("/admin/", follow=True)

    assert posted.status_code == 302
    assert posted["Location"] == "/accounts/login/?next=/admin/"
    assert "_auth_user_id" not in client.session
    assert unquote(followed.redirect_chain[-1][0]) == "/accounts/login/?next=/admin/"
