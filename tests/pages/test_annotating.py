"""The annotator's pages: annotate, submit (plain POST and the page's JSON fetch), skip, My annotations, edit."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from annotate.models import Annotation, AnnotationRevision, Assignment, WorkItem
from annotate.services.annotations import annotation_submit
from annotate.services.queue import next_assignment, work_items_create
from tests.conftest import ROLES
from tests.factories import ExampleFactory, QuestionFactory, UserFactory

OK, LOGIN, MISSING = 200, 302, 404
MEMBER_STATUS = {"manager": OK, "reviewer": OK, "annotator": OK, "outsider": MISSING, "anonymous": LOGIN}
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=alert(1)>"
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def examples(project):
    made = [ExampleFactory(project=project) for _ in range(3)]
    work_items_create(project=project)
    return made


def annotate_url(project):
    return reverse("annotate:annotate", args=[project.pk])


def submit_url(project, example):
    return reverse("annotate:annotate_submit", args=[project.pk, example.pk])


def open_annotate(client, project):
    response = client.get(annotate_url(project))
    assert response.status_code == 200
    return response


def submit(user, project, example, **answers):
    annotation, _ = annotation_submit(project=project, annotator=user, example_id=example.pk, answers=answers)
    return annotation


def text_of(html):
    """The page's text, tags removed and spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split()).replace(" :", ":")


def claim_and_submit(user, project, **answers):
    return submit(user, project, next_assignment(project=project, annotator=user).example, **answers)


# Who may open what ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", ["annotate:annotate", "annotate:my_annotations"])
def test_it_lets_every_member_annotate_and_nobody_else(client_as, project, examples, name, role):
    response = client_as(role).get(reverse(name, args=[project.pk]))

    assert response.status_code == MEMBER_STATUS[role]
    if role == "anonymous":
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role", ROLES)
def test_it_lets_members_edit_their_own_annotation(client_as, cast, project, examples, role):
    owner = cast[role] if MEMBER_STATUS[role] == OK else cast["annotator"]
    annotation = claim_and_submit(owner, project, quality=3, topic="code")

    response = client_as(role).get(reverse("annotate:annotation_edit", args=[project.pk, annotation.pk]))

    assert response.status_code == MEMBER_STATUS[role]


@pytest.mark.parametrize("role", ["outsider", "anonymous"])
def test_it_lets_no_outsider_submit_or_skip(client_as, project, examples, role):
    client = client_as(role)
    expected = MEMBER_STATUS[role]

    assert client.post(submit_url(project, examples[0]), {"q-quality": "3"}).status_code == expected
    skip = reverse("annotate:annotate_skip", args=[project.pk, examples[0].pk])
    assert client.post(skip).status_code == expected
    assert not Annotation.objects.exists()


def test_it_hides_another_annotators_annotation_from_the_edit_page(client_as, cast, project, examples):
    annotation = claim_and_submit(cast["reviewer"], project, quality=3, topic="code")

    response = client_as("annotator").get(reverse("annotate:annotation_edit", args=[project.pk, annotation.pk]))

    assert response.status_code == 404


# The annotate page -----------------------------------------------------------------------------------------------


def test_it_shows_the_example_the_questions_the_guideline_and_progress(client_as, project, examples):
    response = open_annotate(client_as("annotator"), project)
    html = response.content.decode()

    example = response.context["example"]
    assert example.content["prompt"] in html and example.content["response"] in html
    assert 'name="q-quality"' in html and 'name="q-topic"' in html
    assert "version 1" in html and "Be helpful." in html
    assert response.context["progress"] == {"done": 0, "holding": 1, "left": 2, "left_up_to": 1000}
    assert "Your progress: 0 done · holding 1 · 2 left for you" in text_of(html)


def test_it_counts_what_is_done_held_and_left_for_this_annotator(client_as, cast, project, examples):
    claim_and_submit(cast["annotator"], project, quality=3, topic="code")
    claim_and_submit(cast["reviewer"], project, quality=3, topic="code")  # others' work: open places, not counted

    progress = open_annotate(client_as("annotator"), project).context["progress"]

    assert (progress["done"], progress["holding"], progress["left"]) == (1, 1, 1)


def test_it_counts_what_is_left_up_to_a_thousand(client_as, project, settings, monkeypatch):
    monkeypatch.setattr("annotate.counts.LEFT_COUNTED_UP_TO", 2)
    monkeypatch.setattr("annotate.views.annotating.LEFT_COUNTED_UP_TO", 2)
    ExampleFactory.create_batch(5, project=project)
    work_items_create(project=project)

    response = open_annotate(client_as("annotator"), project)

    assert response.context["progress"]["left"] == 3
    assert "2+ left for you" in text_of(response.content.decode())


def test_it_says_when_nothing_is_left(client_as, project):
    response = open_annotate(client_as("annotator"), project)

    assert response.context["example"] is None
    assert "Nothing left to annotate" in response.content.decode()


def test_it_shows_the_same_example_on_reload(client_as, project, examples):
    client = client_as("annotator")

    first = open_annotate(client, project).context["example"]
    again = open_annotate(client, project).context["example"]

    assert first.pk == again.pk


def test_it_offers_a_control_for_every_kind_that_applies(client_as, project):
    QuestionFactory(project=project, name="tags", kind="multi_label", options={"labels": ["x", "y"]}, level="nominal")
    QuestionFactory(project=project, name="fix", kind="text", options={}, level=None, required=False)
    QuestionFactory(project=project, name="better", kind="preference", options={}, level="nominal")
    QuestionFactory(project=project, name="order", kind="ranking", options={}, level="ordinal")
    ExampleFactory(project=project, content={"prompt": "P", "response": "R"})
    work_items_create(project=project)

    html = open_annotate(client_as("annotator"), project).content.decode()

    assert 'type="checkbox" name="q-tags"' in html
    assert '<textarea id="q-fix-input" name="q-fix"' in html and "data-prefill" in html
    # Preference and ranking only apply to examples with candidate responses.
    assert "q-better" not in html and "rank-order" not in html


# Submitting without JavaScript ------------------------------------------------------------------------------------


def test_it_saves_a_plain_form_post_and_moves_on(client_as, cast, project, examples):
    client = client_as("annotator")
    page = open_annotate(client, project)
    example = page.context["example"]

    response = client.post(
        submit_url(project, example),
        {"q-quality": "4", "q-topic": "math", "started_at": page.context["started_at"], "display_order": ""},
    )

    assert response.status_code == 302 and response["Location"] == annotate_url(project)
    annotation = Annotation.objects.get(example=example, annotator=cast["annotator"])
    assert annotation.answers == {"quality": 4, "topic": "math"}
    assert annotation.guideline_version == 1
    assert annotation.started_at is not None and annotation.duration_ms is not None
    assert Assignment.objects.get(example=example, annotator=cast["annotator"]).status == "submitted"
    follow = client.get(response["Location"])
    assert follow.context["example"].pk != example.pk
    assert f"Saved your answers to {example.external_id}" in follow.content.decode()


def test_it_keeps_the_answers_and_names_the_question_when_one_is_missing(client_as, project, examples):
    client = client_as("annotator")
    example = open_annotate(client, project).context["example"]

    response = client.post(submit_url(project, example), {"q-topic": "math"})

    assert response.status_code == 400
    html = response.content.decode()
    assert '<a href="#q-quality">quality</a>: is required; answer it' in html
    assert 'value="math" data-key="2" checked' in html
    assert not Annotation.objects.exists()


def test_it_names_the_question_whose_answer_is_out_of_range(client_as, project, examples):
    client = client_as("annotator")
    example = open_annotate(client, project).context["example"]

    response = client.post(submit_url(project, example), {"q-quality": "9", "q-topic": "code"})

    assert response.status_code == 400
    assert response.context["error"].field == "quality"
    assert "must be a whole number from 1 to 5" in response.content.decode()
    assert 'value="code" data-key="1" checked' in response.content.decode()


def test_it_refuses_an_example_that_is_not_assigned(client_as, project, examples):
    client = client_as("annotator")
    held = open_annotate(client, project).context["example"]
    other = next(example for example in examples if example.pk != held.pk)

    response = client.post(submit_url(project, other), {"q-quality": "3", "q-topic": "code"})

    assert response.status_code == 403
    assert "not assigned to you" in response.content.decode()
    assert not Annotation.objects.exists()


def test_it_refuses_an_example_of_another_project(client_as, project, examples):
    stranger = ExampleFactory()
    client = client_as("annotator")
    open_annotate(client, project)

    response = client.post(submit_url(project, stranger), {"q-quality": "3", "q-topic": "code"}, **JSON)

    assert response.status_code == 403
    assert response.json()["field"] == "example"


def test_it_reads_every_kind_from_a_plain_post(client_as, cast, project, examples):
    QuestionFactory(
        project=project, name="tags", kind="multi_label", options={"labels": ["x", "y", "z"]}, level="nominal"
    )
    QuestionFactory(project=project, name="score", kind="rating", options={"min": 0, "max": 100}, level="interval")
    QuestionFactory(project=project, name="fix", kind="text", options={}, level=None)
    client = client_as("annotator")
    page = open_annotate(client, project)
    assert 'type="number" id="q-score-input" name="q-score" value="" min="0" max="100"' in page.content.decode()

    response = client.post(
        submit_url(project, page.context["example"]),
        {"q-quality": "1", "q-topic": "code", "q-tags": ["z", "x"], "q-score": "73", "q-fix": "line one\r\nline two"},
    )

    assert response.status_code == 302
    answers = Annotation.objects.get(annotator=cast["annotator"]).answers
    # Labels in the question's order; the browser's CRLF line breaks stored as the newlines that were typed.
    assert answers == {"quality": 1, "topic": "code", "tags": ["x", "z"], "score": 73, "fix": "line one\nline two"}


# Submitting from the page's script (JSON answers) -----------------------------------------------------------------


def test_it_answers_the_script_in_json(client_as, cast, project, examples):
    client = client_as("annotator")
    example = open_annotate(client, project).context["example"]

    response = client.post(
        submit_url(project, example), {"q-quality": "2", "q-topic": "code", "duration_ms": "5400"}, **JSON
    )

    assert response.status_code == 200
    assert response.json() == {"ok": True, "redirect": annotate_url(project)}
    assert Annotation.objects.get(annotator=cast["annotator"]).duration_ms == 5400


def test_it_tells_the_script_which_question_failed(client_as, project, examples):
    client = client_as("annotator")
    example = open_annotate(client, project).context["example"]

    response = client.post(submit_url(project, example), {"q-topic": "code"}, **JSON)

    assert response.status_code == 400
    assert response.json() == {"error": "quality: is required; answer it", "question": "quality", "field": "quality"}


def test_it_tells_the_script_when_the_example_is_not_assigned(client_as, project, examples):
    client = client_as("annotator")
    held = open_annotate(client, project).context["example"]
    other = next(example for example in examples if example.pk != held.pk)

    response = client.post(submit_url(project, other), {"q-quality": "3", "q-topic": "code"}, **JSON)

    assert response.status_code == 403
    assert "not assigned to you" in response.json()["error"]
    assert response.json()["next"] == annotate_url(project)


# Candidate responses: a random order that the answers survive ------------------------------------------------------


@pytest.fixture
def candidates(project):
    QuestionFactory(project=project, name="better", kind="preference", options={}, level="nominal")
    QuestionFactory(project=project, name="order", kind="ranking", options={}, level="ordinal")
    for n in range(8):
        ExampleFactory(project=project, content={"prompt": f"P{n}", "responses": [f"first-{n}", f"second-{n}"]})
    work_items_create(project=project)
    return project


def test_it_shows_candidates_in_a_stable_order_and_maps_the_letters_back(client_as, cast, candidates):
    client = client_as("annotator")
    page = open_annotate(client, candidates)
    example, order = page.context["example"], [int(i) for i in page.context["display_order"].split(",")]
    assert open_annotate(client, candidates).context["display_order"] == page.context["display_order"]
    html = page.content.decode()
    shown_first = example.content["responses"][order[0]]
    assert html.index(f">{shown_first}<") < html.index(f">{example.content['responses'][order[1]]}<")

    better = next(field for field in page.context["fields"] if field.name == "better")
    a_is_better = next(choice for choice in better.choices if choice.label == "A is better")
    response = client.post(
        submit_url(candidates, example),
        {
            "q-quality": "3",
            "q-topic": "code",
            "q-better": a_is_better.value,
            f"rank-order-{order[0]}": "1",
            f"rank-order-{order[1]}": "2",
            "display_order": page.context["display_order"],
        },
    )

    assert response.status_code == 302
    annotation = Annotation.objects.get(annotator=cast["annotator"])
    # "A is better" names the response shown first, whichever index it has.
    assert annotation.answers["better"] == "ab"[order[0]]
    assert annotation.answers["order"] == order
    assert annotation.display_order == order


def test_it_shuffles_candidates_across_examples(client_as, cast, candidates):
    client = client_as("annotator")
    orders = set()
    for _ in range(8):
        page = open_annotate(client, candidates)
        orders.add(page.context["display_order"])
        client.post(
            reverse("annotate:annotate_skip", args=[candidates.pk, page.context["example"].pk]),
        )

    assert orders == {"0,1", "1,0"}


def test_it_names_the_ranking_when_a_rank_is_given_twice(client_as, candidates):
    client = client_as("annotator")
    page = open_annotate(client, candidates)
    example = page.context["example"]

    response = client.post(
        submit_url(candidates, example),
        {"q-quality": "3", "q-topic": "code", "q-better": "tie", "rank-order-0": "1", "rank-order-1": "1"},
    )

    assert response.status_code == 400
    assert "order</a>: give each response a different rank from 1 to 2" in response.content.decode()


# Skipping ----------------------------------------------------------------------------------------------------------


def test_it_skips_and_never_serves_the_example_again(client_as, cast, project, examples):
    client = client_as("annotator")
    example = open_annotate(client, project).context["example"]

    response = client.post(reverse("annotate:annotate_skip", args=[project.pk, example.pk]))

    assert response.status_code == 302
    assert Assignment.objects.get(example=example, annotator=cast["annotator"]).status == "skipped"
    assert open_annotate(client, project).context["example"].pk != example.pk


def test_a_skip_sent_by_a_page_being_left_is_answered_without_claiming_the_next_example(
    client_as, cast, project, examples
):
    client = client_as("annotator")
    example = open_annotate(client, project).context["example"]

    response = client.post(reverse("annotate:annotate_skip", args=[project.pk, example.pk]), {"beacon": "1"})

    assert response.status_code == 204
    mine = Assignment.objects.filter(annotator=cast["annotator"])
    assert [(a.example_id, a.status) for a in mine] == [(example.pk, "skipped")]


# My annotations and editing ----------------------------------------------------------------------------------------


def test_it_lists_only_my_own_annotations(client_as, cast, project, examples):
    mine = claim_and_submit(cast["annotator"], project, quality=2, topic="math")
    claim_and_submit(cast["reviewer"], project, quality=5, topic="general")

    response = client_as("annotator").get(reverse("annotate:my_annotations", args=[project.pk]))

    assert [row["annotation"].pk for row in response.context["rows"]] == [mine.pk]
    html = response.content.decode()
    assert reverse("annotate:annotation_edit", args=[project.pk, mine.pk]) in html
    assert "general" not in html.split("<tbody>")[1]


def test_it_edits_an_annotation_and_keeps_the_earlier_answers(client_as, cast, project, examples):
    annotator = cast["annotator"]
    annotation = claim_and_submit(annotator, project, quality=2, topic="math")
    client = client_as("annotator")
    url = reverse("annotate:annotation_edit", args=[project.pk, annotation.pk])
    page = client.get(url)
    assert 'value="2" data-key="2" checked' in page.content.decode()

    response = client.post(url, {"q-quality": "5", "q-topic": "general", "duration_ms": "1200"})

    assert response.status_code == 302
    assert response["Location"] == reverse("annotate:my_annotations", args=[project.pk])
    annotation.refresh_from_db()
    assert annotation.answers == {"quality": 5, "topic": "general"}
    revision = AnnotationRevision.objects.get(annotation=annotation)
    assert revision.answers == {"quality": 2, "topic": "math"}
    history = client.get(url).content.decode().split("Earlier versions")[1]
    assert "math" in history and "guideline v1" in history


def test_it_says_when_an_annotation_can_no_longer_be_edited(client_as, cast, project, examples):
    annotator = cast["annotator"]
    example = next_assignment(project=project, annotator=annotator).example
    annotation = submit(annotator, project, example, quality=2, topic="math")
    # The example is reopened for a new round: the old annotation is closed.
    WorkItem.objects.filter(pk=example.pk).update(round=2)
    client = client_as("annotator")
    url = reverse("annotate:annotation_edit", args=[project.pk, annotation.pk])

    page = client.get(url)
    response = client.post(url, {"q-quality": "5", "q-topic": "general"})

    assert page.status_code == 200 and "can no longer be changed" in page.content.decode()
    assert response.status_code == 403 and "can no longer be changed" in response.content.decode()
    annotation.refresh_from_db()
    assert annotation.answers == {"quality": 2, "topic": "math"}


# Blind: nothing about anyone else's work --------------------------------------------------------------------------


def test_it_never_shows_another_annotators_answers(client_as, cast, project):
    QuestionFactory(project=project, name="fix", kind="text", options={}, level=None, required=False)
    ExampleFactory(project=project)
    work_items_create(project=project)
    other = UserFactory(username="someone-else")
    project.memberships.create(user=other, role="annotator")
    example = next_assignment(project=project, annotator=other).example
    submit(other, project, example, quality=1, topic="general", fix="SECRET-OTHER-ANSWER")
    client = client_as("annotator")

    page = open_annotate(client, project)
    assert page.context["example"].pk == example.pk  # the same example, now in this annotator's hands
    mine = client.post(submit_url(project, example), {"q-quality": "4", "q-topic": "code", "q-fix": "mine"})
    assert mine.status_code == 302
    annotation = Annotation.objects.get(annotator=cast["annotator"])
    pages = [
        page,
        client.get(reverse("annotate:my_annotations", args=[project.pk])),
        client.get(reverse("annotate:annotation_edit", args=[project.pk, annotation.pk])),
        client.post(submit_url(project, example), {"q-quality": "9"}),
    ]

    for response in pages:
        html = response.content.decode()
        assert "SECRET-OTHER-ANSWER" not in html
        assert "someone-else" not in html
    assert page.context["progress"] == {"done": 0, "holding": 1, "left": 0, "left_up_to": 1000}


# Hostile content ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        {"prompt": XSS_SCRIPT, "response": XSS_IMG},
        {"prompt": XSS_SCRIPT, "responses": [XSS_IMG, XSS_SCRIPT]},
        {"messages": [{"role": "user", "content": XSS_SCRIPT}, {"role": "assistant", "content": XSS_IMG}]},
    ],
)
def test_it_escapes_hostile_content_on_the_annotate_and_edit_pages(client_as, cast, project, content):
    ExampleFactory(project=project, external_id="<b>id</b>", content=content)
    work_items_create(project=project)
    client = client_as("annotator")
    page = open_annotate(client, project)
    annotation = submit(cast["annotator"], project, page.context["example"], quality=3, topic="code")
    edit = client.get(reverse("annotate:annotation_edit", args=[project.pk, annotation.pk]))
    mine = client.get(reverse("annotate:my_annotations", args=[project.pk]))

    for response in (page, edit, mine):
        html = response.content.decode()
        assert XSS_SCRIPT not in html and XSS_IMG not in html and "<b>id</b>" not in html
    for response in (page, edit):
        html = response.content.decode()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_it_widens_the_header_with_the_workspace(client_as, project, examples):
    html = open_annotate(client_as("annotator"), project).content.decode()

    assert '<body class="page--wide"' in html  # .page--wide .wrap: the header's and main's width together
