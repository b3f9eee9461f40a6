"""The quality dashboard: the agreement figures as the API gives them, per slice and per guideline version, the
pairwise kappa heat map, and each table as CSV."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.urls import reverse

from annotate import figures, measures
from annotate.services.annotations import annotation_submit
from annotate.services.projects import guideline_add
from tests.agreement_data import write_labels
from tests.conftest import ROLES


@pytest.fixture
def labelled(project, cast):
    return write_labels(project)


def page(client, project, query=""):
    response = client.get(reverse("annotate:quality", args=[project.pk]) + query)
    assert response.status_code == 200
    return response.content.decode()


def rows_of(client, project, table, query=""):
    response = client.get(reverse("annotate:quality_csv", args=[project.pk, table]) + query)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_it_shows_each_questions_agreement_as_the_api_computes_it(client_as, project, labelled):
    figures = measures.project_agreement(project)["questions"]

    html = page(client_as("reviewer"), project)

    assert f"{figures['topic']['krippendorff_alpha']:.3f}" in html
    assert f"{figures['quality']['krippendorff_alpha']:.3f}" in html
    low, high = figures["quality"]["alpha_interval"]
    assert f"{low:.3f} to {high:.3f}" in html
    assert 'id="chart-agreement"' in html and "vendor/chart.js/chart.umd.min.js" in html


def test_the_csv_has_the_numbers_behind_the_chart(client_as, project, labelled):
    figures = measures.project_agreement(project)["questions"]

    rows = {row["question"]: row for row in rows_of(client_as("manager"), project, "agreement")}

    assert float(rows["topic"]["krippendorff_alpha"]) == pytest.approx(figures["topic"]["krippendorff_alpha"])
    assert float(rows["quality"]["alpha_low"]) == pytest.approx(figures["quality"]["alpha_interval"][0])
    assert rows["topic"]["items_used"] == "6"


def test_the_kappa_heat_map_and_its_csv_name_every_pair(client_as, project, labelled):
    html = page(client_as("reviewer"), project)
    rows = rows_of(client_as("reviewer"), project, "kappas")

    assert {(row["question"], row["annotator"], row["other_annotator"]) for row in rows} >= {
        ("quality", "ann-a", "ann-b"),
        ("topic", "ann-b", "ann-c"),
    }
    assert 'class="heatmap"' in html and "heat heat--" in html


def test_a_slice_measures_only_its_examples(client_as, project, labelled):
    english = measures.project_agreement(project, by="lang")["slices"][0]
    assert english["value"] == "en"

    html = page(client_as("reviewer"), project, "?key=lang&value=en")
    rows = {row["question"]: row for row in rows_of(client_as("reviewer"), project, "agreement", "?key=lang&value=en")}

    assert "lang = en" in html
    assert rows["topic"]["items_used"] == str(english["questions"]["topic"]["items_used"]) == "3"


def test_a_slice_nobody_labelled_is_a_404_and_a_bad_key_is_explained(client_as, project, labelled):
    client = client_as("reviewer")

    assert client.get(reverse("annotate:quality", args=[project.pk]) + "?key=lang&value=fr").status_code == 404
    html = page(client, project, "?key=123")
    assert "That metadata key cannot be used." in html


def test_agreement_by_guideline_version_is_shown_once_labels_span_two_versions(client_as, project, cast, labelled):
    guideline_add(project=project, text="v2", created_by=cast["manager"])
    e2 = project.examples.get(external_id="e2").pk
    annotation_submit(
        project=project, annotator=labelled["ann-c"], example_id=e2, answers={"quality": 3, "topic": "math"}
    )

    html = page(client_as("manager"), project)
    rows = rows_of(client_as("manager"), project, "versions")

    assert 'id="chart-versions"' in html
    assert {row["guideline_version"] for row in rows} == {"1", "2"}


def test_csv_cells_that_a_spreadsheet_would_run_are_quoted(client_as, project, cast):
    from tests.agreement_data import ANNOTATORS

    assert all(not name.startswith("=") for name in ANNOTATORS)
    project.questions.filter(name="topic").update(name="=topic")  # names are validated; a stored one is not trusted
    rows = rows_of(client_as("manager"), project, "agreement")

    assert {row["question"] for row in rows} == {"quality", "'=topic"}


@pytest.mark.parametrize("role", ROLES)
def test_the_csv_answers_each_role_as_the_page_does(client_as, project, role):
    url = reverse("annotate:quality_csv", args=[project.pk, "agreement"])

    response = client_as(role).get(url)

    assert response.status_code == {"manager": 200, "reviewer": 200, "annotator": 403, "outsider": 404}.get(role, 302)


def test_an_unknown_table_is_a_404(client_as, project):
    assert client_as("manager").get(reverse("annotate:quality_csv", args=[project.pk, "secrets"])).status_code == 404


def test_the_annotators_section_shows_the_flag_with_its_figures_and_the_csvs_have_the_rows(client, db):
    from tests.agreement_data import rated_project

    project, reviewer = rated_project()
    client.force_login(reviewer)

    html = page(client, project)
    annotator_rows = rows_of(client, project, "annotators")
    flags = rows_of(client, project, "flags")
    fatigue = rows_of(client, project, "fatigue")

    assert "Annotators on <code>quality</code>" in html
    assert 'badge--warn">lenient<' in html and 'id="chart-offsets"' in html and 'id="chart-distributions"' in html
    assert '"annotator": "(everyone)"' in html  # the bar each annotator's answers are read against
    assert {row["annotator"] for row in annotator_rows} == {"honest-1", "honest-2", "honest-3", "lenient"}
    lenient_row = next(row for row in annotator_rows if row["annotator"] == "lenient")
    assert float(lenient_row["adjusted_offset_low"]) < float(lenient_row["adjusted_offset"])
    assert abs(sum(json.loads(lenient_row["label_distribution"]).values()) - 1) < 1e-9
    assert "Answers given" in html and "Agreement by position in the session" in html
    assert [(row["annotator"], row["kind"]) for row in flags if row["kind"] == "lenient"] == [("lenient", "lenient")]
    assert "offset=" in flags[0]["figures"] and float(flags[0]["p"]) < 0.01
    assert {row["annotator"] for row in fatigue} <= {"honest-1", "honest-2", "honest-3", "lenient"}


def test_the_annotators_section_follows_the_question_picked(client_as, project, labelled):
    html = page(client_as("reviewer"), project, "?question=topic")

    assert "Annotators on <code>topic</code>" in html
    assert 'id="chart-offsets"' not in html  # a nominal question has no offsets


@pytest.mark.django_db(transaction=True, databases=["default", "progress"])
def test_stale_figures_say_so(client_as, project, cast, monkeypatch):
    monkeypatch.setattr(figures, "SLOW_SECONDS", 0.0)  # every project counts as large
    annotators = write_labels(project)
    assert "measured again" not in page(client_as("reviewer"), project)
    e2 = project.examples.get(external_id="e2").pk
    annotation_submit(
        project=project, annotator=annotators["ann-c"], example_id=e2, answers={"quality": 3, "topic": "math"}
    )

    assert "being measured again in the background" in page(client_as("reviewer"), project)
