"""The reviewers' pages: the disagreement queue, reviewing one example, bulk consensus, sending examples back."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotate.models import Resolution, WorkItem
from annotate.services.annotations import annotation_submit
from annotate.services.queue import next_assignment, work_items_create
from annotate.services.reviews import resolution_set
from annotate.views import reviewing
from tests.conftest import ROLES
from tests.factories import ExampleFactory, MembershipFactory, QuestionFactory, UserFactory

OK, REDIRECT, FORBIDDEN, MISSING = 200, 302, 403, 404
READ = {"manager": OK, "reviewer": OK, "annotator": FORBIDDEN, "outsider": MISSING, "anonymous": REDIRECT}
ACT = {"manager": REDIRECT, "reviewer": REDIRECT, "annotator": FORBIDDEN, "outsider": MISSING, "anonymous": REDIRECT}
MANAGE = {
    "manager": REDIRECT,
    "reviewer": FORBIDDEN,
    "annotator": FORBIDDEN,
    "outsider": MISSING,
    "anonymous": REDIRECT,
}
ANNOTATORS = ("ann-a", "ann-b", "ann-c")
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_LINK = '<a href="javascript:alert(1)">click</a>'


def label_all(project, plan, usernames=ANNOTATORS):
    """Three annotators (ann-a, ann-b, ann-c) each answer every example: plan[example][i] is annotator i's answers."""
    work_items_create(project=project)
    by_pk = {example.pk: answers for example, answers in plan.items()}
    for index, username in enumerate(usernames):
        user = UserFactory(username=username)
        MembershipFactory(user=user, project=project, role="annotator")
        while (held := next_assignment(project=project, annotator=user)) is not None:
            annotation_submit(
                project=project, annotator=user, example_id=held.example_id, answers=by_pk[held.example_id][index]
            )


def answers(*topics, quality=3):
    return [{"topic": topic, "quality": quality} for topic in topics]


@pytest.fixture
def examples(project):
    """On topic: split three ways (most disagreement), two against one, and unanimous."""
    split = ExampleFactory(project=project, external_id="split", metadata={"source": "forum"})
    two_one = ExampleFactory(project=project, external_id="two-one", metadata={"source": "docs"})
    agreed = ExampleFactory(project=project, external_id="agreed", metadata={"source": "docs"})
    label_all(
        project,
        {
            split: answers("code", "math", "general"),
            two_one: answers("code", "code", "math"),
            agreed: answers("math", "math", "math"),
        },
    )
    return {"split": split, "two_one": two_one, "agreed": agreed}


def queue_page(client, project, **params):
    return client.get(reverse("annotate:review_queue", args=[project.pk]), params)


def review_url(project, example, **params):
    query = "&".join(f"{key}={value}" for key, value in {"question": "topic", **params}.items())
    return f"{reverse('annotate:review_example', args=[project.pk, example.pk])}?{query}"


def listed(response):
    return [row["example"].external_id for row in response.context["rows"]]


# Who may do what -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", ["review_queue", "review_example", "review_consensus"])
def test_it_lets_only_reviewers_and_managers_read_the_review_pages(client_as, project, examples, name, role):
    args = [project.pk, examples["split"].pk] if name == "review_example" else [project.pk]
    url = reverse(f"annotate:{name}", args=args)

    response = client_as(role).get(url)

    assert response.status_code == READ[role]
    if role == "anonymous":
        assert response["Location"] == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize("role", ROLES)
def test_it_lets_only_reviewers_and_managers_resolve(client_as, project, examples, role):
    response = client_as(role).post(review_url(project, examples["split"]), {"accept": "ann-a"})

    assert response.status_code == ACT[role]
    assert Resolution.objects.exists() == (ACT[role] == REDIRECT and role != "anonymous")


@pytest.mark.parametrize("role", ROLES)
def test_it_lets_only_reviewers_and_managers_apply_consensus(client_as, project, examples, role):
    url = reverse("annotate:review_consensus", args=[project.pk]) + "?question=topic"

    response = client_as(role).post(url, {"method": "unanimous"})

    assert response.status_code == ACT[role]
    assert Resolution.objects.exists() == (ACT[role] == REDIRECT and role != "anonymous")


@pytest.mark.parametrize("role", ROLES)
def test_it_lets_reviewers_and_managers_send_back_in_bulk_from_the_queue(client_as, project, examples, role):
    url = reverse("annotate:review_reopen", args=[project.pk]) + "?question=topic"

    response = client_as(role).post(url, {"example": [examples["split"].pk]})

    assert response.status_code == ACT[role]
    assert WorkItem.objects.get(pk=examples["split"].pk).round == (2 if role in ("manager", "reviewer") else 1)


def test_it_refuses_a_get_to_the_bulk_send_back(client_as, project):
    assert client_as("manager").get(reverse("annotate:review_reopen", args=[project.pk])).status_code == 405


def test_it_gives_404_for_an_example_of_another_project(client_as, project, examples):
    other = ExampleFactory()

    response = client_as("reviewer").get(reverse("annotate:review_example", args=[project.pk, other.pk]))

    assert response.status_code == 404


# The queue -------------------------------------------------------------------------------------------------


def test_it_lists_disagreements_most_first_without_the_agreed_example(client_as, project, examples):
    response = queue_page(client_as("reviewer"), project, question="topic")

    assert listed(response) == ["split", "two-one"]
    html = response.content.decode()
    assert "100%" in html and "67%" in html
    assert html.index("split") < html.index("two-one")


def test_it_defaults_to_the_first_question_that_can_disagree(client_as, project, examples):
    response = queue_page(client_as("reviewer"), project)

    assert response.context["filters"].question.name == "quality"  # the project's first question
    assert listed(response) == []  # every annotator rated 3


def test_it_filters_by_annotator_and_metadata(client_as, project, examples):
    client = client_as("reviewer")

    assert listed(queue_page(client, project, question="topic", key="source", value="docs")) == ["two-one"]
    assert listed(queue_page(client, project, question="topic", key="source", value="forum")) == ["split"]
    assert listed(queue_page(client, project, question="topic", annotator="ann-a")) == ["split", "two-one"]
    assert listed(queue_page(client, project, question="topic", annotator="reviewer-user")) == []


def test_it_hides_resolved_cases_unless_asked(client_as, project, examples, cast):
    resolution_set(
        project=project, example_id=examples["split"].pk, question_name="topic", value="code", reviewer=cast["reviewer"]
    )
    client = client_as("reviewer")

    assert listed(queue_page(client, project, question="topic")) == ["two-one"]
    response = queue_page(client, project, question="topic", show="all")
    assert listed(response) == ["split", "two-one"]
    assert "badge--resolved" in response.content.decode()


def test_it_reports_and_ignores_bad_filters(client_as, project, examples):
    response = queue_page(client_as("reviewer"), project, question="nope", annotator="nobody", key="x__y", show="?")

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"question", "annotator", "key", "show"}
    assert response.context["filters"].question.name == "quality"
    assert "Some filters were ignored" in response.content.decode()


def test_it_offers_the_metadata_keys_seen_except_array_indices(client_as, project, examples):
    ExampleFactory(project=project, metadata={"contains": "x", "a__b": "y", "7": "z", "lang": "en"})

    response = queue_page(client_as("reviewer"), project)

    assert [key for key, _ in response.context["form"].fields["key"].choices] == [
        "",
        "a__b",
        "contains",
        "lang",
        "source",
    ]


def test_it_matches_metadata_that_is_not_text(client_as, project):
    dated = ExampleFactory(project=project, external_id="dated", metadata={"year": 2024})
    other = ExampleFactory(project=project, external_id="other", metadata={"year": 2023})
    label_all(project, {dated: answers("code", "math", "math"), other: answers("code", "math", "math")})

    assert listed(queue_page(client_as("reviewer"), project, question="topic", key="year", value="2024")) == ["dated"]


def test_it_pages_the_queue_by_position(client_as, project, examples, monkeypatch):
    monkeypatch.setattr(reviewing, "CASES_PER_PAGE", 1)
    client = client_as("reviewer")

    first = queue_page(client, project, question="topic", show="all")
    assert listed(first) == ["split"]
    assert first.context["previous_url"] is None
    second = client.get(first.context["next_url"])
    assert listed(second) == ["two-one"]
    assert second.context["next_url"] is None, "the unanimous example is no case"
    assert listed(client.get(second.context["previous_url"])) == ["split"]
    assert listed(queue_page(client, project, question="topic", after="junk")) == ["split"]
    assert listed(queue_page(client, project, question="topic", after="2_1")) == ["split"], "out of range: the top"


def test_it_shows_checkboxes_for_sending_back_to_whoever_may_reopen(client_as, project, examples):
    assert 'name="example"' in queue_page(client_as("manager"), project, question="topic").content.decode()
    assert 'name="example"' in queue_page(client_as("reviewer"), project, question="topic").content.decode()


def test_it_says_when_the_project_has_nothing_to_review(client_as, project):
    project.questions.all().delete()
    QuestionFactory(project=project, name="comment", kind="text", options={}, level=None)

    response = queue_page(client_as("reviewer"), project)

    assert response.status_code == 200
    assert "no question that annotators can disagree on" in response.content.decode()


# Reviewing one example -------------------------------------------------------------------------------------


def test_it_shows_the_example_its_answers_and_guideline_versions(client_as, project, examples, cast):
    from annotate.services import guideline_add

    guideline_add(project=project, text="clarified", created_by=cast["manager"])

    response = client_as("reviewer").get(review_url(project, examples["split"]))

    html = response.content.decode()
    assert response.status_code == 200
    assert examples["split"].content["prompt"] in html
    for username in ANNOTATORS:
        assert f'value="{username}"' in html
    assert html.count('class="badge badge--warn"') == 3  # made under v1, current is v2
    assert "Case <strong>1</strong> of 2" in html


def test_it_accepts_an_annotators_answer_and_moves_to_the_next_case(client_as, project, examples, cast):
    url = review_url(project, examples["split"], annotator="ann-b", show="unresolved")

    response = client_as("reviewer").post(url, {"accept": "ann-b", "note": "guideline unclear"})

    resolution = Resolution.objects.get(example=examples["split"], question__name="topic")
    assert (resolution.value, resolution.method, resolution.reviewer, resolution.note) == (
        "math",
        "reviewer",
        cast["reviewer"],
        "guideline unclear",
    )
    assert response.status_code == 302
    assert response["Location"] == review_url(project, examples["two_one"], annotator="ann-b", show="unresolved")


def test_it_resolves_with_the_reviewers_own_answer(client_as, project, examples, cast):
    client_as("manager").post(review_url(project, examples["split"]), {"action": "own", "value": "general"})

    resolution = Resolution.objects.get(example=examples["split"], question__name="topic")
    assert (resolution.value, resolution.method, resolution.reviewer) == ("general", "reviewer", cast["manager"])


def test_it_goes_back_to_the_queue_after_the_last_case(client_as, project, examples):
    client = client_as("reviewer")

    response = client.post(review_url(project, examples["two_one"]), {"accept": "ann-a"}, follow=True)

    assert response.redirect_chain[-1][0].startswith(reverse("annotate:review_queue", args=[project.pk]))
    assert "That was the last case in this queue." in response.content.decode()


@pytest.mark.parametrize(
    ("posted", "message"),
    [
        ({"action": "own", "value": "poetry"}, "must be one of code, math, general"),
        ({"action": "own"}, "must be one of code, math, general"),
        ({"accept": "nobody"}, "nobody has no answer to topic here"),
        ({"action": "launch"}, "choose one of the actions on the page"),
        ({"accept": "ann-a", "note": "x" * 2001}, "the note is longer than 2,000 characters"),
    ],
)
def test_it_explains_an_invalid_action_without_resolving(client_as, project, examples, posted, message):
    response = client_as("reviewer").post(review_url(project, examples["split"]), posted)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Resolution.objects.exists()


def test_it_explains_a_rating_outside_the_scale(client_as, project, examples):
    url = review_url(project, examples["split"]).replace("question=topic", "question=quality")

    for value in ("9", "three", ""):
        response = client_as("reviewer").post(url, {"action": "own", "value": value, "note": "kept"})

        assert response.status_code == 400
        assert "must be a whole number from 1 to 5" in response.content.decode()
        assert 'value="kept"' in response.content.decode()  # the note survives the error
    assert not Resolution.objects.exists()


def test_it_resolves_rankings_and_multi_labels_from_their_controls(client_as, project, cast):
    QuestionFactory(project=project, name="order", kind="ranking", options={}, level="ordinal", required=False)
    QuestionFactory(
        project=project, name="flags", kind="multi_label", options={"labels": ["x", "y", "z"]}, level="nominal"
    )
    example = ExampleFactory(project=project, content={"prompt": "p", "responses": ["r0", "r1", "r2"]})
    client = client_as("reviewer")
    base = reverse("annotate:review_example", args=[project.pk, example.pk])

    client.post(f"{base}?question=order", {"action": "own", "value": "C, a > B"})
    client.post(f"{base}?question=flags", {"action": "own", "value": ["z", "x"]})
    bad = client.post(f"{base}?question=order", {"action": "own", "value": "A, A, B"})

    assert Resolution.objects.get(question__name="order").value == [2, 0, 1]
    assert Resolution.objects.get(question__name="flags").value == ["x", "z"]
    assert bad.status_code == 400
    assert "list every response letter once, best first" in bad.content.decode()


def test_it_asks_for_a_tie_breaker(client_as, project, examples):
    before = WorkItem.objects.get(pk=examples["split"].pk).target

    response = client_as("reviewer").post(review_url(project, examples["split"]), {"action": "tiebreak"})

    work = WorkItem.objects.get(pk=examples["split"].pk)
    assert (work.target, work.open) == (before + 1, True)
    assert response.status_code == 302


def test_it_warns_when_nobody_is_left_to_break_the_tie(client, staff, project, examples):
    project.memberships.exclude(user__username__in=ANNOTATORS).delete()
    client.force_login(staff)
    url = review_url(project, examples["split"])

    assert "a tie-breaker will wait until someone new joins" in client.get(url).content.decode()
    MembershipFactory(project=project, role="annotator")
    assert "a tie-breaker will wait until someone new joins" not in client.get(url).content.decode()


def test_it_lets_a_reviewer_send_the_example_back(client_as, project, examples, cast):
    example = examples["split"]
    resolution_set(
        project=project, example_id=example.pk, question_name="topic", value="code", reviewer=cast["manager"]
    )

    client_as("reviewer").post(review_url(project, example), {"action": "reopen"})

    assert WorkItem.objects.get(pk=example.pk).round == 2
    assert not Resolution.objects.filter(example=example).exists()


def test_it_shows_the_current_resolution(client_as, project, examples, cast):
    resolution_set(
        project=project,
        example_id=examples["split"].pk,
        question_name="topic",
        value="general",
        reviewer=cast["manager"],
        note="checked twice",
    )

    html = client_as("reviewer").get(review_url(project, examples["split"], show="all")).content.decode()

    assert "Current resolution" in html and "checked twice" in html and "manager-user" in html


# Bulk ------------------------------------------------------------------------------------------------------


def test_it_counts_and_applies_unanimous_and_majority_consensus(client_as, project, examples, cast):
    client = client_as("reviewer")
    url = reverse("annotate:review_consensus", args=[project.pk]) + "?question=topic&threshold=0.5"

    counts = client.get(url).context
    assert (counts["unanimous"], counts["majority"], counts["threshold_percent"]) == (1, 2, 50)
    assert client.get(url.replace("0.5", "0.7")).context["majority"] == 1  # 2 of 3 is not more than 70%

    response = client.post(url, {"method": "unanimous"}, follow=True)
    assert "Resolved 1 example by unanimous agreement." in response.content.decode()
    response = client.post(url, {"method": "majority"}, follow=True)
    assert "Resolved 1 example by majority agreement." in response.content.decode()
    assert {r.example.external_id: (r.value, r.method) for r in Resolution.objects.all()} == {
        "agreed": ("math", "unanimous"),
        "two-one": ("code", "majority"),
    }


def test_it_explains_a_bad_threshold_or_method_without_a_500(client_as, project, examples):
    client = client_as("reviewer")
    base = reverse("annotate:review_consensus", args=[project.pk])

    page = client.get(f"{base}?question=topic&threshold=2")
    applied = client.post(f"{base}?question=topic", {"method": "everything"}, follow=True)

    assert page.status_code == 200 and "Threshold ignored" in page.content.decode()
    assert "Nothing was resolved: method must be" in applied.content.decode()
    assert not Resolution.objects.exists()


def test_it_sends_the_selected_cases_back(client_as, project, examples):
    url = reverse("annotate:review_reopen", args=[project.pk]) + "?question=topic&show=all"

    response = client_as("manager").post(url, {"example": [examples["split"].pk, examples["two_one"].pk]})

    assert response["Location"] == reverse("annotate:review_queue", args=[project.pk]) + "?question=topic&show=all"
    assert sorted(WorkItem.objects.filter(round=2).values_list("pk", flat=True)) == sorted(
        [examples["split"].pk, examples["two_one"].pk]
    )


@pytest.mark.parametrize("chosen", [[], ["junk"], ["999999"]])
def test_it_sends_nothing_back_when_the_choice_is_bad(client_as, project, examples, chosen):
    url = reverse("annotate:review_reopen", args=[project.pk])

    response = client_as("manager").post(url, {"example": chosen}, follow=True)

    assert "Nothing was sent back" in response.content.decode()
    assert not WorkItem.objects.filter(round=2).exists()


# Hostile content -------------------------------------------------------------------------------------------


def test_it_renders_hostile_content_labels_and_answers_inert(client_as, project, cast):
    project.questions.all().delete()
    QuestionFactory(
        project=project, name="verdict", kind="label", options={"labels": [XSS_SCRIPT, XSS_IMG]}, level="nominal"
    )
    QuestionFactory(project=project, name="why", kind="text", options={}, level=None)
    example = ExampleFactory(
        project=project,
        content={"prompt": f"{XSS_SCRIPT} {XSS_LINK}", "response": XSS_IMG},
        metadata={"source": XSS_SCRIPT},
    )
    label_all(
        project,
        {
            example: [
                {"verdict": XSS_SCRIPT, "why": XSS_LINK},
                {"verdict": XSS_IMG, "why": XSS_SCRIPT},
                {"verdict": XSS_IMG, "why": XSS_IMG},
            ]
        },
    )
    client = client_as("reviewer")

    pages = [
        queue_page(client, project),
        client.get(reverse("annotate:review_example", args=[project.pk, example.pk])),
        client.get(reverse("annotate:review_consensus", args=[project.pk]) + "?question=verdict"),
    ]

    for response in pages:
        html = response.content.decode()
        assert response.status_code == 200
        # Content is rendered as Markdown whose raw HTML is text: quotes inside that text need no escaping.
        assert XSS_SCRIPT not in html and XSS_IMG not in html and '<a href="javascript:' not in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html  # shown as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[1].content.decode()


def test_it_offers_the_preference_choices_in_the_annotate_pages_order(client_as, project):
    QuestionFactory(project=project, name="better", kind="preference", options={}, level="nominal")
    example = ExampleFactory(project=project, content={"prompt": "Hi", "responses": ["one", "two"]})
    label_all(project, {example: [{"quality": 3, "topic": "code", "better": value} for value in ("a", "b", "tie")]})

    url = reverse("annotate:review_example", args=[project.pk, example.pk]) + "?question=better"
    html = client_as("reviewer").get(url).content.decode()

    own = html[html.index('id="own-heading"') :]
    assert own.index("A is better") < own.index("B is better") < own.index("Tie")


# Every question of an example in one pass ---------------------------------------------------------------------


def all_url(project, example, **params):
    query = "&".join(f"{key}={value}" for key, value in {"question": "topic", **params}.items())
    return f"{reverse('annotate:review_example_all', args=[project.pk, example.pk])}?{query}"


@pytest.fixture
def two_questions(project):
    """topic split three ways, quality 2 / 4 / 4, on one example; a second example to move on to."""
    split = ExampleFactory(project=project, external_id="split")
    other = ExampleFactory(project=project, external_id="other")
    label_all(
        project,
        {
            split: [{"topic": t, "quality": q} for t, q in (("code", 2), ("math", 4), ("general", 4))],
            other: answers("code", "math", "math"),
        },
    )
    return split, other


@pytest.mark.parametrize("role", ROLES)
def test_it_lets_only_reviewers_and_managers_read_and_resolve_every_question(client_as, project, two_questions, role):
    split, _ = two_questions
    url = all_url(project, split)
    client = client_as(role)

    read = client.get(url)
    posted = client.post(url, {"decision-topic": "accept:ann-b"})

    assert read.status_code == READ[role]
    assert posted.status_code == ACT[role]
    assert Resolution.objects.exists() == (role in ("manager", "reviewer"))


def test_it_shows_every_question_with_its_answers(client_as, project, two_questions):
    split, _ = two_questions

    response = client_as("reviewer").get(all_url(project, split))

    html = response.content.decode()
    assert [item["question"].name for item in response.context["questions"]] == ["quality", "topic"]
    quality = response.context["questions"][0]
    assert [(a.shown, a.annotators) for a in quality["answers"]] == [("4", ["ann-b", "ann-c"]), ("2", ["ann-a"])]
    assert 'name="decision-topic" value="accept:ann-c"' in html
    assert 'name="value-quality"' in html


def test_it_resolves_every_chosen_question_in_one_post_and_moves_on(client_as, cast, project, two_questions):
    split, other = two_questions

    response = client_as("reviewer").post(
        all_url(project, split),
        {"decision-topic": "own", "value-topic": "general", "decision-quality": "accept:ann-b", "note": "both"},
    )

    assert response.status_code == REDIRECT
    assert response["Location"] == all_url(project, other, show="unresolved")
    resolved = {r.question.name: (r.value, r.reviewer, r.note) for r in Resolution.objects.filter(example=split)}
    assert resolved == {"topic": ("general", cast["reviewer"], "both"), "quality": (4, cast["reviewer"], "both")}
    assert not listed_after(client_as("reviewer"), project, "topic", split)


def listed_after(client, project, question, example):
    """Whether the example is still an open case of the question's queue (its stored summary says resolved)."""
    return example.external_id in listed(queue_page(client, project, question=question))


def test_it_leaves_a_question_left_as_it_is(client_as, project, two_questions):
    split, _ = two_questions

    client_as("reviewer").post(all_url(project, split), {"decision-topic": "accept:ann-a", "decision-quality": ""})

    assert [r.question.name for r in Resolution.objects.all()] == ["topic"]


def test_it_resolves_nothing_and_names_the_question_when_one_decision_is_refused(client_as, project, two_questions):
    split, _ = two_questions

    response = client_as("reviewer").post(
        all_url(project, split),
        {"decision-topic": "accept:ann-a", "decision-quality": "own", "value-quality": "9", "note": "kept"},
    )

    assert response.status_code == 400
    assert not Resolution.objects.exists()
    html = response.content.decode()
    assert 'Nothing was resolved: <a href="#q-quality">quality</a>' in html
    assert 'value="accept:ann-a" checked' in html and 'value="kept"' in html


def test_it_refuses_an_answer_nobody_gave(client_as, project, two_questions):
    split, _ = two_questions

    response = client_as("reviewer").post(all_url(project, split), {"decision-topic": "accept:someone"})

    assert response.status_code == 400
    assert not Resolution.objects.exists()


def test_it_asks_for_a_decision(client_as, project, two_questions):
    split, _ = two_questions

    response = client_as("reviewer").post(all_url(project, split), {})

    assert response.status_code == 400
    assert "choose a decision for at least one question" in response.content.decode()


def test_it_links_the_one_question_pages_and_the_queue_to_it(client_as, project, two_questions):
    split, _ = two_questions
    client = client_as("reviewer")

    case = client.get(review_url(project, split)).content.decode()
    queue = client.get(reverse("annotate:review_queue", args=[project.pk]) + "?question=topic").content.decode()

    link = reverse("annotate:review_example_all", args=[project.pk, split.pk])
    assert link in case and link in queue
