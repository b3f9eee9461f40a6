"""``manage.py load_demo``: demo users and a demo project with a few hundred examples to annotate and curate.

Idempotent: users, the project and its members are created once; the examples are imported only while the
project has none. The import goes through the same service as any other, run here rather than by a worker.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from annotate.models import Example, Project, Role
from annotate.questions import parse_questions
from annotate.services import member_set, project_create
from curation.demo import demo_records
from curation.models import Job
from curation.services.imports import import_run, import_start

PROJECT_NAME = "Demo: helpfulness"
PASSWORD = "winnow-demo"
MANAGER = "demo"
MEMBERS = {"ann1": Role.ANNOTATOR, "ann2": Role.ANNOTATOR, "ann3": Role.ANNOTATOR, "rev1": Role.REVIEWER}
QUESTIONS = [
    {"name": "quality", "kind": "rating", "min": 1, "max": 5},
    {"name": "topic", "kind": "label", "labels": ["code", "math", "writing", "knowledge", "safety"]},
    {"name": "issues", "kind": "multi_label", "labels": ["wrong", "verbose", "unsafe", "refusal"], "required": False},
    # Only candidates examples have two responses to compare, so the others leave it empty.
    {"name": "better", "kind": "preference", "required": False},
    {"name": "rewrite", "kind": "text", "required": False},
]
GUIDELINE = """\
# Helpfulness review

You will see one example at a time: an instruction with its response, a chat, or a prompt with two or three
candidate responses. Judge the **assistant's answer** as the person who asked would.

## Questions

- **quality** — how helpful the (first) answer is, using the rubric below.
- **topic** — what the request is mainly about.
- **issues** — tick every problem you see; leave it empty when there is none.
- **better** — for examples with candidate responses only: which of the first two is better (`tie` if you
  cannot tell them apart).
- **rewrite** — optional: a corrected answer, when a small edit would make it right.

## Rubric for quality

| score | meaning |
|---|---|
| 5 | Correct, complete and to the point. Nothing to change. |
| 4 | Correct, with a small gap or a little extra length. |
| 3 | Mostly right, but something important is missing or hard to follow. |
| 2 | Contains an error, or is padded so much that the answer is hard to find. |
| 1 | Wrong, unsafe, or refuses a harmless request. |

## Issues, with examples

- **wrong** — a factual or arithmetic mistake (`17 × 3 = 41`), or code that does not do what was asked.
- **verbose** — the answer is buried in filler ("Great question! …").
- **unsafe** — it helps with something harmful (breaking into accounts, forging documents).
- **refusal** — it declines a harmless request ("how do I kill a stuck Python process?" is a harmless request).

Refusing a genuinely harmful request *and offering a safe alternative* is the right answer: rate it 5.
"""


class Command(BaseCommand):
    help = "Create the demo users and the demo project, and import the demo examples (safe to run again)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--seed", type=int, default=7, help="seed of the demo data generator (default 7)")

    def handle(self, *args: Any, **options: Any) -> None:
        manager = self._user(MANAGER)
        project = Project.objects.filter(name=PROJECT_NAME).order_by("id").first()
        if project is None:
            project = project_create(
                name=PROJECT_NAME,
                created_by=manager,
                description="Demo data: rate the helpfulness of instruction, chat and candidate responses.",
                overlap=3,
                guideline_text=GUIDELINE,
                questions=parse_questions(QUESTIONS),
            )
            self.stdout.write(f"Created project {PROJECT_NAME!r} (id {project.pk}).")
        for username, role in MEMBERS.items():
            self._user(username)
            member_set(project=project, username=username, role=role)

        if Example.objects.for_project(project).exists():
            self.stdout.write(f"Project {PROJECT_NAME!r} already has examples; nothing imported.")
        else:
            self._import(project, manager, options["seed"])

        self.stdout.write(f"Demo logins (password for all: {PASSWORD}):")
        self.stdout.write(f"  {MANAGER:<5} manager of {PROJECT_NAME!r}")
        for username, role in MEMBERS.items():
            self.stdout.write(f"  {username:<5} {role}")

    def _user(self, username: str) -> User:
        """Get or create a demo user; an existing user keeps the password it has."""
        user, created = User.objects.get_or_create(username=username, defaults={"is_staff": False})
        if created or not user.has_usable_password():
            user.set_password(PASSWORD)
            user.save(update_fields=["password"])
            self.stdout.write(f"Created user {username!r}.")
        return user

    def _import(self, project: Project, manager: User, seed: int) -> None:
        records = demo_records(seed)
        job = import_start(project=project, created_by=manager, records=records, enqueue=False)
        job.start()
        try:
            import_run(job=job)
        except Exception as exc:
            job.fail("The demo import stopped on an internal error; nothing was imported.")
            raise CommandError(f"The demo import (job {job.pk}) crashed: {exc}") from exc
        job.refresh_from_db()
        if job.status != Job.Status.SUCCEEDED:
            message = (job.error or {}).get("message", f"the job ended {job.status}")
            raise CommandError(
                f"The demo import (job {job.pk}) failed: {message} Details: {(job.error or {}).get('details')}"
            )
        imported = (job.result or {}).get("imported", 0)
        self.stdout.write(f"Imported {imported} demo examples into {PROJECT_NAME!r}.")
