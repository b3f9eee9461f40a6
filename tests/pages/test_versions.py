"""The dataset version pages: the list, the pipeline builder (its checks, dry run and runs), the job page of a
pipeline, a version, its kept examples, its removals explained, and its cleaned content."""

from __future__ import annotations

import json
import re
from html import unescape
from unittest import mock

import pytest
from django.urls import reverse

from annotate.models import Membership
from curation.models import DatasetVersion, Job, Removal, VersionMember
from curation.tasks import run_pipeline
from tests.conftest import ROLES
from tests.factories import ExampleFactory, ProjectFactory

OK, LOGIN, FORBIDDEN, MISSING = 200, 302, 403, 404
READ = {"manager": OK, "reviewer": OK, "annotator": FORBIDDEN, "outsider": MISSING, "anonymous": LOGIN}
MANAGE = {"manager": OK, "reviewer": FORBIDDEN, "annotator": FORBIDDEN, "outsider": MISSING, "anonymous": LOGIN}
XSS = "<script>alert(1)</script>"

STORY = "The old keeper climbed the stairs every evening to light the lamp above the grey and restless sea."
STEPS = [
    {"op": "clean", "rules": ["normalize_whitespace"]},
    {"op": "filter", "rules": [{"name": "min_words", "field": "response", "value": 3}]},
    {"op": "dedup", "method": "exact", "fields": None, "keep": "first"},
]


def make_version(project, *, status="ready", steps=STEPS, **fields) -> DatasetVersion:
    defaults = {
        "name": "tidy",
        "counts": {"input": 4, "kept": 2, "removed": 2, "removed_by": {"dedup.exact": 1, "filter.min_words": 1}},
        "step_results": [
            {
                "step": 1,
                "op": "clean",
                "name": "clean",
                "input": 4,
                "output": 4,
                "removed": 0,
                "changed": 1,
                "seconds": 0.01,
                "counters": {"normalize_whitespace": 1},
            },
            {
                "step": 2,
                "op": "filter",
                "name": "filter",
                "input": 4,
                "output": 3,
                "removed": 1,
                "changed": 0,
                "seconds": 0.02,
                "counters": {},
            },
            {
                "step": 3,
                "op": "dedup",
                "name": "dedup exact",
                "input": 3,
                "output": 2,
                "removed": 1,
                "changed": 0,
                "seconds": 0.03,
                "counters": {},
            },
        ],
        "warnings": [],
    }
    defaults.update(fields)
    return DatasetVersion.objects.create(project=project, status=status, steps=steps, **defaults)


@pytest.fixture
def examples(project):
    return {
        "messy": ExampleFactory(
            project=project,
            external_id="messy",
            content={"prompt": "Tell me", "response": "A  story\n\n\n\nfollows here."},
        ),
        "story": ExampleFactory(
            project=project, external_id="story", content={"prompt": "Tell me a story.", "response": STORY}
        ),
        "copy": ExampleFactory(
            project=project,
            external_id="copy",
            content={"prompt": "Tell me a story.", "response": STORY.replace("grey", "GREY")},
        ),
        "short": ExampleFactory(project=project, external_id="short", content={"prompt": "Hi", "response": "Yo"}),
    }


@pytest.fixture
def version(project, examples, cast):
    """A version as a run of STEPS leaves it: one example cleaned, one filtered out, one exact duplicate."""
    made = make_version(project, created_by=cast["manager"])
    VersionMember.objects.create(
        version=made, example=examples["messy"], content={"prompt": "Tell me", "response": "A story\n\nfollows here."}
    )
    VersionMember.objects.create(version=made, example=examples["story"])
    Removal.objects.create(
        version=made,
        example=examples["short"],
        rule="filter.min_words",
        step=1,
        detail={"field": "response", "value": 1, "threshold": 3, "unit": "words"},
    )
    Removal.objects.create(
        version=made,
        example=examples["copy"],
        rule="dedup.exact",
        step=2,
        detail={"duplicate_of": examples["story"].pk, "similarity": 1.0},
    )
    return made


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# --- who may do what -------------------------------------------------------------------------------------------

VERSION_PAGES = [
    "curation:version_detail",
    "curation:version_examples",
    "curation:version_removals",
    "curation:version_cleaned",
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", VERSION_PAGES)
def test_each_version_page_answers_each_role_as_the_matrix_says(client_as, version, name, role):
    url = reverse(name, args=[version.pk])

    response = client_as(role).get(url)

    assert response.status_code == READ[role]
    if response.status_code == LOGIN:
        assert response["Location"] == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize("role", ROLES)
def test_only_managers_post_to_the_builder_and_the_dry_run(client_as, project, role):
    steps = json.dumps([{"op": "dedup", "method": "exact"}])
    with mock.patch("curation.tasks.run_pipeline.delay"):
        built = client_as(role).post(
            reverse("curation:version_new", args=[project.pk]), {"steps": steps, "action": "run"}
        )
    tried = client_as(role).post(
        reverse("curation:filter_dry_run", args=[project.pk]), {"rules": '[{"name": "empty"}]'}
    )

    expected = {**MANAGE, "manager": 302}
    assert built.status_code == expected[role]
    assert tried.status_code == MANAGE[role]
    assert Job.objects.filter(kind="pipeline").count() == (1 if role == "manager" else 0)


@pytest.mark.parametrize("name", VERSION_PAGES)
def test_a_version_being_built_is_no_ones_to_see(client_as, project, name):
    building = make_version(project, status="building")

    assert client_as("manager").get(reverse(name, args=[building.pk])).status_code == MISSING
    assert "tidy" not in page(client_as("manager"), reverse("curation:version_list", args=[project.pk]))


def test_a_version_of_another_project_is_a_404_like_one_that_does_not_exist(client_as, db, cast):
    elsewhere = make_version(ProjectFactory(name="secret"))

    hidden = client_as("manager").get(reverse("curation:version_detail", args=[elsewhere.pk]))
    missing = client_as("manager").get(reverse("curation:version_detail", args=[elsewhere.pk + 1000]))

    assert hidden.status_code == missing.status_code == MISSING
    token = re.compile(rb'"X-CSRFToken": "[^"]*"|name="csrfmiddlewaretoken" value="[^"]*"')
    assert token.sub(b"", hidden.content) == token.sub(b"", missing.content)


# --- the list --------------------------------------------------------------------------------------------------


def test_the_list_shows_versions_newest_first_with_their_counts(client_as, project, version):
    counts = {"input": 500, "kept": 500, "removed": 0, "removed_by": {}}
    child = make_version(project, name="", parent=version, trial=True, sample=500, steps=[], counts=counts)

    html = page(client_as("reviewer"), reverse("curation:version_list", args=[project.pk]))

    assert html.index(f"Version {child.pk}") < html.index(">tidy<")
    assert "trial · sample of 500" in html
    assert "clean → filter → dedup exact" in html
    assert "4 → <strong>2</strong>" in html
    assert "manager-user" in html
    assert "New version" not in html  # reviewers read versions; managers make them


def test_the_empty_list_explains_what_a_version_is_and_offers_to_make_one(client_as, project):
    html = page(client_as("manager"), reverse("curation:version_list", args=[project.pk]))

    assert "No versions yet" in html and "Examples themselves never change" in html
    assert reverse("curation:version_new", args=[project.pk]) in html


def test_the_project_page_links_to_the_versions_for_reviewers_not_annotators(client_as, project):
    url = reverse("curation:version_list", args=[project.pk])

    assert url in page(client_as("reviewer"), reverse("annotate:project_detail", args=[project.pk]))
    assert url not in page(client_as("annotator"), reverse("annotate:project_detail", args=[project.pk]))


# --- the builder -----------------------------------------------------------------------------------------------


def post_builder(client, project, **data):
    data.setdefault("action", "run")
    if isinstance(data.get("steps"), list):
        data["steps"] = json.dumps(data["steps"])
    with mock.patch("curation.tasks.run_pipeline.delay"):
        return client.post(reverse("curation:version_new", args=[project.pk]), data)


def text(html: str) -> str:
    """The page's text, tags left out."""
    return unescape(re.sub(r"<[^>]+>", "", html))


def alerts(html: str) -> list[str]:
    return [
        unescape(re.sub(r"<[^>]+>", "", match)) for match in re.findall(r'role="alert"[^>]*>(.*?)</div>', html, re.S)
    ]


def test_the_builder_publishes_the_catalog_and_the_options_its_script_builds_forms_from(client_as, project, version):
    html = page(client_as("manager"), reverse("curation:version_new", args=[project.pk]))

    data = json.loads(re.search(r'<script id="pipeline-data" type="application/json">(.*?)</script>', html, re.S)[1])
    assert "min_words" in {rule["name"] for rule in data["catalog"]}
    assert [rule["name"] for rule in data["clean"]][:2] == ["fix_unicode", "strip_special_tokens"]
    assert data["dedup"]["presets"]["fuzzy"] == {"ngram": 1, "threshold": 0.7}
    assert data["versions"] == [{"id": version.pk, "label": "tidy · 2 examples"}]
    assert data["dryRunUrl"] == reverse("curation:filter_dry_run", args=[project.pk])
    assert '<script src="/static/pipeline.js"></script>' in html
    assert 'name="steps"' in html  # the form works without the script


def test_a_bad_option_is_a_400_naming_the_step_and_option_beside_the_step(client_as, project):
    steps = [{"op": "clean", "rules": ["normalize_whitespace"]}, {"op": "dedup", "method": "minhash", "ngram": 40}]

    response = post_builder(client_as("manager"), project, steps=steps)

    assert response.status_code == 400
    html = response.content.decode()
    (alert,) = [text for text in alerts(html) if "Step" in text]
    assert "Step 2 (dedup)" in alert and "ngram" in alert and "from 1 to 13" in alert
    assert 'id="step-error" tabindex="-1" data-step="1"' in html
    data = json.loads(re.search(r'<script id="pipeline-data" type="application/json">(.*?)</script>', html, re.S)[1])
    assert data["error"]["step"] == 1 and data["error"]["option"] == "ngram"
    assert json.loads(unescape(re.search(r'<textarea name="steps"[^>]*>(.*?)</textarea>', html, re.S)[1])) == steps
    assert not Job.objects.exists()


def test_a_bad_filter_rule_option_names_the_rule(client_as, project):
    steps = [{"op": "filter", "rules": [{"name": "min_words", "value": 3}, {"name": "max_words", "value": "many"}]}]

    response = post_builder(client_as("manager"), project, steps=steps)

    assert response.status_code == 400
    assert any("Step 1 (filter)" in text and "rules[1].value" in text for text in alerts(response.content.decode()))


def test_steps_that_are_not_json_are_a_400_that_keeps_what_was_typed(client_as, project):
    response = post_builder(client_as("manager"), project, steps='[{"op": "clean",')

    assert response.status_code == 400
    html = response.content.decode()
    assert "not valid JSON" in html
    assert "[{&quot;op&quot;: &quot;clean&quot;," in html
    assert not Job.objects.exists()


def test_a_trial_needs_a_sample_and_a_version_to_start_from_must_be_the_projects(client_as, project, db):
    elsewhere = make_version(ProjectFactory(name="other"))

    no_sample = post_builder(client_as("manager"), project, steps=[], action="trial", sample="")
    wrong_parent = post_builder(client_as("manager"), project, steps=[], parent=str(elsewhere.pk))

    assert no_sample.status_code == wrong_parent.status_code == 400
    assert "A trial needs the size of its sample." in no_sample.content.decode()
    assert "Select a valid choice" in wrong_parent.content.decode()
    assert not Job.objects.exists()


def test_check_shows_the_order_warning_and_starts_nothing(client_as, project):
    steps = [{"op": "dedup", "method": "minhash", "preset": "strict"}, {"op": "filter", "rules": [{"name": "empty"}]}]

    response = post_builder(client_as("manager"), project, steps=steps, action="check")

    assert response.status_code == 200
    html = unescape(response.content.decode())
    assert "The 2 steps are valid" in html
    assert "Step 1 (dedup minhash) runs before step 2 (filter)" in html
    assert "Jaccard similarity ≥ 0.8 on 5-word shingles, 128 permutations, strict preset" in html
    assert not Job.objects.exists()


def test_a_trial_and_a_full_run_start_a_pipeline_job_and_go_to_its_page(client_as, project, version, cast):
    trial = post_builder(
        client_as("manager"),
        project,
        steps=STEPS,
        action="trial",
        sample="50",
        seed="7",
        parent=str(version.pk),
        name="try",
    )
    full = post_builder(client_as("manager"), project, steps=STEPS, action="run", sample="50")

    first, second = Job.objects.filter(kind="pipeline").order_by("pk")
    assert trial.status_code == full.status_code == 302
    assert trial["Location"] == reverse("curation:job_detail", args=[first.pk])
    assert first.params["sample"] == 50 and first.params["seed"] == 7
    assert first.params["parent"] == version.pk and first.params["name"] == "try"
    assert second.params["sample"] is None  # "run on everything" ignores the trial's sample size
    assert second.created_by == cast["manager"]


def test_the_builder_starts_from_a_versions_steps_to_run_a_trial_on_everything(client_as, project, version):
    trial = make_version(project, parent=version, trial=True, sample=200, seed=3, name="tried")

    html = page(client_as("manager"), reverse("curation:version_new", args=[project.pk]) + f"?from={trial.pk}")

    steps = json.loads(unescape(re.search(r'<textarea name="steps"[^>]*>(.*?)</textarea>', html, re.S)[1]))
    assert steps == STEPS
    assert f'<option value="{version.pk}" selected>' in html
    assert 'value="tried"' in html and 'value="200"' in html


def test_the_dry_run_fragment_counts_what_a_filter_would_remove_by_rule(client_as, project, examples):
    rules = [{"name": "min_words", "field": "response", "value": 3}]

    response = client_as("manager").post(
        reverse("curation:filter_dry_run", args=[project.pk]), {"rules": json.dumps(rules), "sample": "100"}
    )

    assert response.status_code == 200
    html = unescape(response.content.decode())
    assert "This filter would remove 1 of a sample of 4" in html
    assert "min_words (filter) 1" in html
    assert "short" in html and "Measured: 1 word; Threshold: 3 words" in html
    assert "<html" not in html


def test_a_dry_run_with_a_bad_rule_says_what_to_fix(client_as, project, examples):
    response = client_as("manager").post(
        reverse("curation:filter_dry_run", args=[project.pk]), {"rules": '[{"name": "vibes"}]'}
    )

    assert response.status_code == 400
    assert "unknown rule &#x27;vibes&#x27;" in response.content.decode()


# --- the job page of a pipeline --------------------------------------------------------------------------------


@pytest.fixture
def pipeline_job(project, cast):
    return Job.objects.create(
        kind=Job.Kind.PIPELINE,
        project=project,
        created_by=cast["manager"],
        params={"steps": STEPS, "parent": None, "name": "tidy", "sample": 100, "seed": 0, "warnings": []},
    )


@pytest.mark.parametrize(
    ("stage", "states"),
    [
        ("step 3 of 3: dedup exact", ["done", "done", "running"]),
        ("steps 1-2 of 3: clean, filter", ["running", "running", "waiting"]),
        ("merging step 3: dedup exact", ["done", "done", "running"]),
        ("sampling", ["waiting", "waiting", "waiting"]),
    ],
)
def test_a_running_pipeline_names_its_stage_and_where_each_step_is(client_as, pipeline_job, stage, states):
    pipeline_job.status, pipeline_job.stage = "running", stage
    pipeline_job.progress_done, pipeline_job.progress_total, pipeline_job.progress_unit = 40, 100, "records"
    pipeline_job.save()

    html = page(client_as("manager"), reverse("curation:job_detail", args=[pipeline_job.pk]))

    assert Job(stage=stage).stage_label in html  # "Step 3 of 3: dedup exact", "Drawing the sample"
    assert '<progress id="job-progress" value="40" max="100">' in html
    assert re.findall(r'pipeline-progress__step--(\w+)"', html) == states
    assert "a trial sample of 100" in html


def test_a_finished_pipeline_links_its_version_and_shows_what_each_step_did(client_as, pipeline_job, version):
    pipeline_job.status = "succeeded"
    pipeline_job.result = {
        "version": version.pk,
        "counts": version.counts,
        "steps": version.step_results,
        "warnings": ["Step 1 (dedup minhash) runs before step 2 (filter)"],
        "workers": 2,
        "chunks": 3,
        "seconds": 1.5,
    }
    pipeline_job.save()

    html = unescape(page(client_as("manager"), reverse("curation:job_detail", args=[pipeline_job.pk])))

    assert reverse("curation:version_detail", args=[version.pk]) in html
    assert "Open the trial version" in html
    assert "2 of 4 examples kept, 2 removed" in text(html)
    assert "runs before step 2 (filter)" in html
    assert "normalize_whitespace: 1" in html
    assert "Run by 2 workers in 3 chunks" in html


@pytest.mark.parametrize("status", ["failed", "cancelled"])
def test_a_pipeline_that_did_not_finish_says_no_version_was_made(client_as, pipeline_job, status):
    if status == "failed":
        pipeline_job.fail("The worker running this job stopped.")
    else:
        pipeline_job.status = status
        pipeline_job.save()

    html = page(client_as("manager"), reverse("curation:job_detail", args=[pipeline_job.pk]))

    assert "No version was made." in html
    assert "hx-get" not in html


# --- a version -------------------------------------------------------------------------------------------------


def test_the_version_page_shows_lineage_counts_by_rule_steps_and_kept_examples(client_as, project, version):
    child = make_version(
        project,
        name="strict",
        parent=version,
        trial=True,
        sample=2,
        seed=9,
        steps=[
            {
                "op": "dedup",
                "method": "minhash",
                "preset": "fuzzy",
                "threshold": 0.7,
                "ngram": 1,
                "num_perm": 128,
                "fields": ["response"],
                "keep": "first",
            }
        ],
        counts={"input": 2, "kept": 2, "removed": 0, "removed_by": {}},
        step_results=[],
        warnings=["Step 1 (dedup minhash) runs before step 2 (filter)"],
    )
    VersionMember.objects.create(version=child, example=version.members.get(example__external_id="story").example)

    html = unescape(page(client_as("reviewer"), reverse("curation:version_detail", args=[child.pk])))

    assert "trial · sample of 2, seed 9" in html
    lineage = html[html.index('class="lineage"') :]
    assert lineage.index("strict") < lineage.index("tidy") < lineage.index("All examples of the project")
    assert "Drop near-duplicates: Jaccard similarity ≥ 0.7 on 1-word shingles" in lineage
    assert "comparing response" in lineage
    assert "Filter: drop records failing min_words (on response, 3)." in lineage
    assert "Clean: normalise whitespace." in lineage
    assert "runs before step 2 (filter)" in html
    assert "Nothing was removed." in html
    assert "story" in html
    assert "Run these steps on everything" not in html  # for managers


def test_the_version_page_charts_and_tabulates_what_each_rule_removed(client_as, version):
    html = page(client_as("manager"), reverse("curation:version_detail", args=[version.pk]))

    chart = json.loads(re.search(r'<script id="version-chart" type="application/json">(.*?)</script>', html, re.S)[1])
    assert chart == {"labels": ["kept", "exact duplicate", "min_words (filter)"], "counts": [2, 1, 1]}
    assert 'role="img"' in html and "vendor/chart.js/chart.umd.min.js" in html
    removals = reverse("curation:version_removals", args=[version.pk])
    assert f'href="{removals}?rule=dedup.exact"' in html and f'href="{removals}?rule=filter.min_words"' in html
    assert "25.0%" in html and "50.0%" in html
    assert "changed the content of 1 example" in html
    assert reverse("curation:version_cleaned", args=[version.pk]) in html
    assert "Step</th>" in html and "dedup exact</th>" in html
    assert f"?parent={version.pk}" in html  # managers build on it


def test_the_kept_examples_page_pages_through_the_members_with_their_cleaned_content(client_as, project, version):
    more = [ExampleFactory(project=project, external_id=f"more-{n:02}") for n in range(30)]
    VersionMember.objects.bulk_create([VersionMember(version=version, example=example) for example in more])
    url = reverse("curation:version_examples", args=[version.pk])

    first = page(client_as("reviewer"), url)
    after = re.search(r'href="\?after=(\d+)" rel="next"', first)[1]
    second = page(client_as("reviewer"), f"{url}?after={after}")

    assert "<p>A story</p>\n<p>follows here.</p>" in first and "badge--cleaned" in first
    assert "more-22" in first and "more-23" not in first
    assert "more-23" in second and "more-29" in second and 'rel="next"' not in second
    assert f'?before={more[23].pk}" rel="prev"' in second


# --- removals --------------------------------------------------------------------------------------------------


def test_a_duplicate_is_shown_beside_the_example_it_duplicates_with_the_words_that_differ(client_as, version):
    url = reverse("curation:version_removals", args=[version.pk]) + "?rule=dedup.exact"

    html = page(client_as("reviewer"), url)

    assert "<del>GREY</del>" in html and "<ins>grey</ins>" in html
    assert "1 word only in the removed example and 1 word only in story." in unescape(html)
    assert "Duplicate of · <code>story</code>" in html
    assert "Identical once case and spacing are normalised." in html
    assert "Legend:" in html
    assert "filter.min_words" not in html.split('class="filters"')[1].split("</nav>")[1]  # only the rule asked for
    assert 'aria-current="true" title="exact duplicate"><code>dedup.exact</code>' in html


def test_a_duplicate_is_compared_as_the_step_read_it_after_the_cleaning_before_it(client_as, project, examples):
    made = make_version(project, steps=STEPS)
    messy_copy = ExampleFactory(
        project=project, external_id="messy-copy", content={"prompt": "Tell me", "response": "A story\n\nfollows here."}
    )
    Removal.objects.create(
        version=made,
        example=messy_copy,
        rule="dedup.exact",
        step=2,
        detail={"duplicate_of": examples["messy"].pk, "similarity": 1.0},
    )

    html = page(client_as("reviewer"), reverse("curation:version_removals", args=[made.pk]))

    assert "No difference." in html  # the cleaning of step 1 made them equal; the raw texts differ in spacing
    assert "A  story\n\n\n\n" not in html


def test_a_filter_removal_says_the_field_the_measure_and_the_threshold(client_as, version):
    html = page(
        client_as("reviewer"), reverse("curation:version_removals", args=[version.pk]) + "?rule=filter.min_words"
    )

    assert "<dt>Field</dt><dd>response</dd>" in html
    assert "<dt>Measured</dt><dd>1 word</dd>" in html
    assert "<dt>Threshold</dt><dd>3 words</dd>" in html
    assert "step 2 · filter" in html


def test_a_decontaminated_example_shows_the_shared_words_in_both_and_hides_an_eval_set_it_may_not_read(
    client_as, project, examples, cast
):
    evals = ProjectFactory(name="evals")
    Membership.objects.create(user=cast["manager"], project=evals, role="manager")
    question = ExampleFactory(
        project=evals, external_id="eval-1", content={"text": "... climbed the stairs every evening to light the lamp!"}
    )
    eval_version = make_version(evals, steps=[])
    VersionMember.objects.create(version=eval_version, example=question)
    made = make_version(
        project, steps=[{"op": "decontaminate", "against": eval_version.pk, "ngram": 8, "fields": None}]
    )
    Removal.objects.create(
        version=made,
        example=examples["story"],
        rule="decontaminate",
        step=0,
        detail={"eval_example": question.pk, "ngram": "climbed the stairs every evening to light the", "overlap": 2},
    )
    url = reverse("curation:version_removals", args=[made.pk])

    as_manager = page(client_as("manager"), url)
    as_reviewer = page(client_as("reviewer"), url)

    assert as_manager.count("<mark>climbed the stairs every evening to light the</mark>") == 2
    assert "eval-1" in as_manager
    assert as_reviewer.count("<mark>climbed") == 1  # the reviewer may not read the other project's evaluation set
    assert "eval-1" not in as_reviewer and "you may not read" in as_reviewer


def test_removals_page_through_in_example_order(client_as, project, version):
    extra = [ExampleFactory(project=project, external_id=f"gone-{n:02}") for n in range(25)]
    Removal.objects.bulk_create(
        [
            Removal(version=version, example=example, rule="filter.empty", step=1, detail={"field": "all"})
            for example in extra
        ]
    )
    url = reverse("curation:version_removals", args=[version.pk]) + "?rule=filter.empty"

    first = page(client_as("reviewer"), url)
    after = re.search(r'href="\?rule=filter.empty&amp;after=(\d+)" rel="next"', first)[1]
    second = page(client_as("reviewer"), f"{url}&after={after}")

    assert int(after) == extra[19].pk
    assert "gone-19" in first and "gone-20" not in first
    assert "gone-20" in second and "gone-24" in second and 'rel="next"' not in second


# --- cleaned content -------------------------------------------------------------------------------------------


def test_cleaned_content_is_shown_before_and_after_with_the_whitespace_that_changed(client_as, version):
    html = page(client_as("reviewer"), reverse("curation:version_cleaned", args=[version.pk]))

    assert "messy" in html and "story</code>" not in html  # only members whose content a step changed
    assert '<del class="diff-space">··</del>' in html and '<ins class="diff-space">·</ins>' in html
    assert '<del class="diff-space">↵\n↵\n↵\n↵\n</del>' in html
    assert "Only whitespace differs." in html
    assert "1 other part of the example is unchanged." in html
    assert "Clean: normalise whitespace." in html


# --- what users wrote is escaped everywhere --------------------------------------------------------------------


def test_script_payloads_in_names_content_steps_and_details_are_escaped(client_as, project, cast):
    bad = ExampleFactory(project=project, external_id=XSS, content={"prompt": XSS, "response": f"{XSS} one two"})
    twin = ExampleFactory(project=project, external_id="twin", content={"prompt": XSS, "response": f"{XSS} one three"})
    made = make_version(
        project,
        name=XSS,
        created_by=cast["manager"],
        steps=[
            {"op": "filter", "rules": [{"name": "keyword_deny", "value": [XSS]}]},
            {"op": "dedup", "method": "minhash", "threshold": 0.5, "ngram": 1, "num_perm": 128, "keep": "first"},
        ],
        counts={"input": 3, "kept": 1, "removed": 2, "removed_by": {"dedup.minhash": 1, XSS: 1}},
        warnings=[XSS],
        step_results=[],
    )
    VersionMember.objects.create(version=made, example=twin, content={"prompt": XSS, "response": XSS})
    Removal.objects.create(
        version=made,
        example=bad,
        rule="dedup.minhash",
        step=1,
        detail={"duplicate_of": twin.pk, "similarity": 0.6, XSS: XSS},
    )
    other = ExampleFactory(project=project, external_id="other")
    Removal.objects.create(version=made, example=other, rule=XSS, step=0, detail={"keyword": XSS})
    client = client_as("manager")

    for name in [*VERSION_PAGES, "curation:version_list"]:
        args = [project.pk] if name == "curation:version_list" else [made.pk]
        html = page(client, reverse(name, args=args))
        assert "<script>alert" not in html, name
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, name
    removals = page(client, reverse("curation:version_removals", args=[made.pk]))
    assert "<del>three</del>" not in removals and "<ins>three</ins>" in removals
    assert "Jaccard similarity 0.6 (threshold 0.5)." in removals
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in removals.split("<ins>three</ins>")[0][-200:]
    built = post_builder(client, project, steps=[{"op": "filter", "rules": [{"name": XSS}]}], name=XSS)
    assert built.status_code == 400 and "<script>alert" not in built.content.decode()


# --- a real run ------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, databases=["default", "progress"])
def test_a_run_of_the_pipeline_reads_well_on_every_page(client_as, project, examples):
    client = client_as("manager")
    response = post_builder(client, project, steps=STEPS, action="run", name="real")
    job = Job.objects.get(kind="pipeline")
    with mock.patch("curation.tasks.run_pipeline_chunks.delay"):
        run_pipeline(job.pk)
    job.refresh_from_db()
    version = DatasetVersion.objects.get(pk=job.result["version"])

    job_page = unescape(page(client, response["Location"]))
    detail = unescape(page(client, reverse("curation:version_detail", args=[version.pk])))
    removals = page(client, reverse("curation:version_removals", args=[version.pk]))
    cleaned = page(client, reverse("curation:version_cleaned", args=[version.pk]))

    assert "2 of 4 examples kept, 2 removed" in text(job_page)
    assert version.counts["removed_by"] == {"dedup.exact": 1, "filter.min_words": 1}
    assert "<dt>Measured</dt><dd>1 word</dd>" in removals
    assert "<del>GREY</del>" in removals and "<ins>grey</ins>" in removals
    assert "messy" in cleaned and "Only whitespace differs." in cleaned
    assert "real" in detail and "dedup exact" in detail


# Annotating a version: the queue limited to its examples, from the version page.


@pytest.mark.parametrize("role", ROLES)
def test_only_managers_limit_the_queue_to_a_version(client_as, project, version, role):
    response = client_as(role).post(reverse("curation:queue_scope", args=[project.pk]), {"version": version.pk})

    assert response.status_code == {**MANAGE, "manager": 302}[role]
    project.refresh_from_db()
    assert project.queue_version == (version.pk if role == "manager" else None)


def test_a_manager_annotates_a_version_and_hands_out_everything_again(client_as, project, version, examples):
    from annotate.models import WorkItem
    from annotate.services.queue import work_items_create

    work_items_create(project=project)
    client = client_as("manager")
    url = reverse("curation:queue_scope", args=[project.pk])
    assert "Annotate this version" in page(client, reverse("curation:version_detail", args=[version.pk]))

    client.post(url, {"version": version.pk})

    in_scope = set(WorkItem.objects.filter(project=project, in_scope=True).values_list("pk", flat=True))
    assert in_scope == set(VersionMember.objects.filter(version=version).values_list("example_id", flat=True))
    detail = page(client, reverse("curation:version_detail", args=[version.pk]))
    assert "hands out only this version" in detail and "Hand out every example again" in detail
    assert version.label in page(client_as("annotator"), project.get_absolute_url())

    back = client.post(url, {"version": "", "back_version": version.pk})

    assert back.status_code == 302 and back.url == reverse("curation:version_detail", args=[version.pk])
    assert not WorkItem.objects.filter(project=project, in_scope=False).exists()
    assert client.post(url, {"version": "x"}).status_code == 400
