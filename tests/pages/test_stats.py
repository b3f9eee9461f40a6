"""The statistics pages: a version's and a project's figures as charts and tables, slices, comparison, coverage,
the progress of a job measuring a large one, and the random sample of a slice."""

from __future__ import annotations

import json
import re
from html import unescape
from unittest import mock

import pytest

from curation.models import DatasetVersion, VersionMember
from curation.tasks import run_stats
from tests.conftest import ROLES
from tests.factories import ExampleFactory, ProjectFactory

OK, LOGIN, FORBIDDEN, MISSING = 200, 302, 403, 404
READ = {"manager": OK, "reviewer": OK, "annotator": FORBIDDEN, "outsider": MISSING, "anonymous": LOGIN}
XSS = "<script>alert(1)</script>"
runs_jobs = pytest.mark.django_db(transaction=True, databases=["default", "progress"])


@pytest.fixture
def examples(project):
    return [
        ExampleFactory(
            project=project,
            external_id="poem",
            content={"prompt": "Write a poem about the sea", "response": "**Waves** roll <br> on."},
            metadata={"source": XSS, "domain": "art"},
        ),
        ExampleFactory(
            project=project,
            external_id="sum",
            content={"prompt": "Solve 2+2", "response": "4"},
            metadata={"source": "web", "domain": "math"},
        ),
        ExampleFactory(
            project=project,
            external_id="chat",
            content={"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]},
            metadata={"source": "web", "domain": "math"},
        ),
    ]


@pytest.fixture
def version(project, examples):
    made = DatasetVersion.objects.create(project=project, status="ready", name="tidy", counts={"input": 3, "kept": 2})
    VersionMember.objects.create(
        version=made, example=examples[0], content={"prompt": "Write a poem", "response": "Waves."}
    )
    VersionMember.objects.create(version=made, example=examples[1])
    return made


def urls(project, version):
    return {
        "version": f"/versions/{version.pk}/stats/",
        "project": f"/projects/{project.pk}/stats/",
        "version sample": f"/versions/{version.pk}/stats/sample/",
        "project sample": f"/projects/{project.pk}/stats/sample/?slice=domain&value=math",
    }


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["version", "project", "version sample", "project sample"])
@pytest.mark.parametrize("role", ROLES)
def test_it_answers_each_role_as_reading_versions_does(client_as, project, version, page, role):
    response = client_as(role).get(urls(project, version)[page])
    assert response.status_code == READ[role]
    if role == "anonymous":
        assert response["Location"].startswith("/accounts/login/")


def chart_data(response) -> dict:
    match = re.search(r'<script id="stats-data" type="application/json">(.*?)</script>', response.content.decode())
    assert match, "the page carries its charts' data"
    return json.loads(match[1])


@pytest.mark.django_db
def test_a_version_page_draws_its_figures_with_the_numbers_under_each_chart(client_as, version):
    response = client_as("reviewer").get(f"/versions/{version.pk}/stats/")

    assert response.status_code == 200
    html = response.content.decode()
    for canvas in ("chart-shapes", "chart-languages", "chart-artefacts"):
        assert f'id="{canvas}"' in html
    assert html.count('class="chart-length"') == 2  # prompt and response
    data = chart_data(response)
    assert data["shapes"] == {"labels": ["instruction"], "counts": [2]}
    # "4" and "Waves." (the cleaned content: the example's own response is longer)
    assert data["lengths"]["response"]["chars"] == {"labels": ["1", "2", "3–4", "5–6"], "counts": [1, 0, 0, 1]}
    assert set(data["lengths"]["response"]) == {"chars", "words", "tokens"}
    text = unescape(re.sub(r"<[^>]+>", " ", html))
    assert re.search(r"instruction\s+2\s+100.0%", text)
    assert "Most frequent opening words" in text and "Top verb–object pairs" in text
    assert re.search(r"write\s*·?\s*poem", text)
    assert '<script src="/static/stats.js"></script>' in html


@pytest.mark.django_db
def test_it_escapes_metadata_values(client_as, project, version):
    response = client_as("manager").get(f"/projects/{project.pk}/stats/?slice=source&coverage=source")

    html = response.content.decode()
    assert response.status_code == 200
    assert XSS not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    data = chart_data(response)
    assert XSS in data["metadata"][1]["labels"]  # json_script escaped it, and JSON gives it back as text


@pytest.mark.django_db
def test_it_shows_the_slices_and_one_slices_figures(client_as, project, version):
    client = client_as("reviewer")
    sliced = client.get(f"/projects/{project.pk}/stats/?slice=domain")
    text = unescape(re.sub(r"<[^>]+>", " ", sliced.content.decode()))

    assert 'id="chart-slices"' in sliced.content.decode()
    assert re.search(r"math\s+2\s+66.7%", text) and re.search(r"art\s+1\s+33.3%", text)

    one = client.get(f"/projects/{project.pk}/stats/?slice=domain&value=math")
    assert "Only the 2 examples whose" in unescape(one.content.decode())
    assert chart_data(one)["shapes"] == {"labels": ["chat", "instruction"], "counts": [1, 1]}


@pytest.mark.django_db
def test_coverage_asks_for_targets_then_shows_the_gaps(client_as, project, version):
    client = client_as("reviewer")
    asking = client.get(f"/projects/{project.pk}/stats/?coverage=domain")
    assert asking.status_code == 200
    assert 'name="target.math"' in asking.content.decode() and 'name="target.art"' in asking.content.decode()

    checked = client.get(f"/projects/{project.pk}/stats/?coverage=domain&target.math=0.5&target.art=0.5")
    text = unescape(re.sub(r"<[^>]+>", " ", checked.content.decode()))
    assert re.search(r"math\s+50.0%\s+66.7%\s+2\s+\+16.7 pp", text)
    assert re.search(r"art\s+50.0%\s+33.3%\s+1\s+-16.7 pp", text)


@pytest.mark.django_db
def test_it_compares_with_another_version_side_by_side(client_as, project, version):
    response = client_as("reviewer").get(f"/projects/{project.pk}/stats/?compare={version.pk}")
    text = unescape(re.sub(r"<[^>]+>", " ", response.content.decode()))
    assert "Compared with" in text and "tidy" in text
    assert re.search(r"chat\s+1 \(33.3%\)\s+0 \(0.0%\)\s+\+33.3 pp", text)


@pytest.mark.django_db
def test_a_bad_parameter_is_said_and_a_version_of_another_project_is_not_found(client_as, project, version):
    client = client_as("reviewer")
    bad = client.get(f"/versions/{version.pk}/stats/?coverage=domain&target.math=2")
    assert bad.status_code == 400
    assert "target.math" in unescape(bad.content.decode()) or "from 0 to 1" in unescape(bad.content.decode())

    elsewhere = DatasetVersion.objects.create(project=ProjectFactory(), status="ready", counts={"kept": 0})
    assert client.get(f"/versions/{version.pk}/stats/?compare={elsewhere.pk}").status_code == 404


@pytest.mark.django_db
def test_the_version_pages_link_to_the_statistics(client_as, project, version):
    client = client_as("reviewer")
    assert f'href="/versions/{version.pk}/stats/"' in client.get(f"/versions/{version.pk}/").content.decode()
    listed = client.get(f"/projects/{project.pk}/versions/").content.decode()
    assert f'href="/versions/{version.pk}/stats/"' in listed and f'href="/projects/{project.pk}/stats/"' in listed


@pytest.mark.django_db
def test_the_sample_page_shows_a_slices_sample_as_the_version_has_it(client_as, project, version):
    client = client_as("reviewer")
    everything = client.get(f"/versions/{version.pk}/stats/sample/")
    html = unescape(everything.content.decode())
    assert "poem" in html and "sum" in html and "Waves." in html and "chat" not in html

    math = client.get(f"/projects/{project.pk}/stats/sample/?slice=domain&value=math")
    html = unescape(math.content.decode())
    assert "<code>sum</code>" in html and "<code>chat</code>" in html and "<code>poem</code>" not in html
    assert client.get(f"/projects/{project.pk}/stats/sample/?slice=domain&value=law").status_code == 404


@runs_jobs
def test_a_large_version_shows_the_jobs_progress_until_it_is_done(client_as, version, settings):
    settings.WINNOW_STATS_INLINE_MAX = 1
    client = client_as("reviewer")
    with mock.patch("curation.tasks.run_stats.delay"):
        waiting = client.get(f"/versions/{version.pk}/stats/")
        polled = client.get(f"/versions/{version.pk}/stats/", headers={"HX-Request": "true"})

    html = waiting.content.decode()
    assert waiting.status_code == 200 and 'id="stats-progress"' in html and 'hx-trigger="every 1s"' in html
    assert "stats-data" not in html and "chart.umd.min.js" not in html
    assert polled.status_code == 200 and polled.content.decode().lstrip().startswith('<section id="stats-progress"')

    run_stats(version.project.jobs.get(kind="stats").pk)

    done = client.get(f"/versions/{version.pk}/stats/", headers={"HX-Request": "true"})
    assert done.status_code == 200 and done["HX-Refresh"] == "true"
    assert chart_data(client.get(f"/versions/{version.pk}/stats/"))["shapes"]["counts"] == [2]


@runs_jobs
def test_a_failed_job_is_said_and_not_polled_for(client_as, version, settings):
    settings.WINNOW_STATS_INLINE_MAX = 1
    client = client_as("reviewer")
    with mock.patch("curation.tasks.run_stats.delay"):
        client.get(f"/versions/{version.pk}/stats/")
    job = version.project.jobs.get(kind="stats")
    job.start()
    job.fail("Measuring the statistics stopped on an error; nothing was stored (RuntimeError).")

    with mock.patch("curation.tasks.run_stats.delay") as delay:
        page = client.get(f"/versions/{version.pk}/stats/")
    delay.assert_not_called()
    html = unescape(page.content.decode())
    assert "nothing was stored" in html and "hx-trigger" not in html
