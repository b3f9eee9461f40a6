"""A bounded schemathesis run against /api/v1/schema/: every operation gets the schema's examples, its coverage
cases (boundaries, invalid values, methods it does not have) and a few random ones, and each answer is checked
against the schema: no server error, a declared status, the declared content type and body shape, auth not
ignored, 405 with Allow for a method the operation does not have.

It runs in-process against the WSGI application, deterministically (a fixed seed, Hypothesis derandomized), on a
seeded project, as that project's manager and, in a second test, anonymously. Path ids that schemathesis makes up
mostly name nothing; each case is therefore also sent with the ids of the seeded objects, so that the views' own
code runs too. About 2,800 requests in 40 seconds on a busy two-core machine.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from rest_framework.authtoken.models import Token

from annotate.models import Annotation
from annotate.services.queue import next_assignment, work_items_create
from config.wsgi import application
from curation.models import Job
from tests.factories import ExampleFactory
from tests.pages.test_reviewing import answers, label_all

MAX_EXAMPLES = 5
ANONYMOUS_EXAMPLES = 3
CONFIG = schemathesis.config.SchemathesisConfig.from_dict(
    {
        "seed": 6,
        # Now and then a value known to have broken the API: text PostgreSQL cannot store, integers beyond 64 bits.
        "dictionaries": {
            "unstorable-text": {"values": ["\x00", "a\x00b", "%00"]},
            "huge-integers": {"values": [2**63, 2**64, -(2**63) - 1, 10**30]},
        },
        "generation": {
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "database": "none",
            "mode": "all",
            "dictionaries": {
                "string": {"dictionary": "unstorable-text", "probability": 0.2},
                "integer": {"dictionary": "huge-integers", "probability": 0.2},
            },
        },
        # Methods an operation does not have are tried three at a time rather than all (the answer is one 405).
        "phases": {"stateful": {"enabled": False}, "coverage": {"unexpected-methods": ["PUT", "DELETE", "TRACE"]}},
        # Every check but the two that judge acceptance, since the API's answers differ from theirs by design:
        # - positive_data_acceptance: schema-valid input is refused for reasons a schema cannot say (a wrong
        #   password is a 400 by contract; questions, answers and reviews are checked against the project's rules);
        # - negative_data_rejection: DRF coerces a number sent for a text field into text, and a body over its
        #   size limit is a 413, which the check does not count as a refusal.
        # Invalid input is still generated and sent; every answer to it must be a declared 4xx with the error body.
        "checks": {
            "enabled": True,
            "positive_data_acceptance": {"enabled": False},
            "negative_data_rejection": {"enabled": False},
        },
    }
)
# The in-process client sends Host: localhost, which the test settings do not list.
IN_PROCESS_HOSTS = ["localhost", "testserver"]
with override_settings(ALLOWED_HOSTS=IN_PROCESS_HOSTS):
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application, config=CONFIG)

SUPPRESSED = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much]


@pytest.fixture(autouse=True)
def keep_the_test_transaction():
    """Django closes the database connection after each request, and with it the test's transaction; the test
    client keeps it open the same way (django.test.client.ClientHandler)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def in_process_hosts(settings):
    settings.ALLOWED_HOSTS = IN_PROCESS_HOSTS


@pytest.fixture
def seeded(project, cast):
    """The cast's project with something behind every path: an example the manager holds, one that three
    annotators disagree on (and their annotations), a job. Returns the ids to put in the paths."""
    disputed = ExampleFactory(project=project, external_id="disputed")
    label_all(project, {disputed: answers("code", "math", "general")})
    held = ExampleFactory(project=project, external_id="held")
    work_items_create(project=project)
    assert next_assignment(project=project, annotator=cast["manager"]).example_id == held.pk
    annotation = Annotation.objects.filter(example=disputed).first()
    job = Job.objects.create(kind=Job.Kind.IMPORT, project=project, created_by=cast["manager"], params={})
    return {
        "project_id": project.pk,
        "example_id": disputed.pk,
        "annotation_id": annotation.pk,
        "job_id": job.pk,
        "username": "annotator-user",
        "token": Token.objects.get_or_create(user=cast["manager"])[0].key,
        "sent": set(),  # requests already sent with these ids
    }


ORDINARY_USERNAME = re.compile(r"[\w.@+-]{1,150}", re.ASCII)


def is_ordinary(value: Any) -> bool:
    """Whether a path value is just some id or username: one that names nothing here, so the answer is a 404
    whatever the rest of the request says."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return 0 <= value < 2**63
    return isinstance(value, str) and bool(ORDINARY_USERNAME.fullmatch(value))


def with_seeded_ids(case: Any, seeded: dict[str, Any]) -> Any:
    """The case with the seeded objects' ids in its path; None if its path names none, if the case tries a method
    the operation does not have (the answer does not depend on the ids), or if the same request was sent already
    (the coverage phase's many invalid ids all become the same seeded one)."""
    parameters = case.path_parameters or {}
    known = {name: seeded[name] for name in parameters if name in seeded}
    if not known or case.method.upper() != case.operation.method.upper():
        return None
    again = case.operation.Case(
        path_parameters={**parameters, **known},
        query=case.query,
        headers=case.headers,
        cookies=case.cookies,
        body=case.body,
        media_type=case.media_type,
    )
    fingerprint = repr((again.path_parameters, again.query, again.body, again.media_type))
    if fingerprint in seeded["sent"]:
        return None
    seeded["sent"].add(fingerprint)
    return again


@schema.parametrize()
@hypothesis_settings(suppress_health_check=SUPPRESSED)
def test_the_api_answers_a_manager_as_its_schema_says(case, seeded):
    auth = {"Authorization": f"Token {seeded['token']}"}
    again = with_seeded_ids(case, seeded)
    # As generated, unless the only news would be a 404 for an id that names nothing (then only with real ids).
    if again is None or not all(map(is_ordinary, (case.path_parameters or {}).values())):
        case.call_and_validate(headers=auth)
    if again is not None:
        again.call_and_validate(headers=auth)


@schema.parametrize()
@hypothesis_settings(suppress_health_check=SUPPRESSED, max_examples=ANONYMOUS_EXAMPLES, phases=[Phase.generate])
def test_the_api_answers_anonymous_requests_as_its_schema_says(case, project):
    """Fewer cases: without credentials nearly every answer is the same 401."""
    case.call_and_validate()
