"""Examples, imports (of examples and of labels) and jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from annotate import access, search
from annotate.models import Example, Project
from annotate.shapes import SHAPES
from api.exceptions import Conflict
from api.pagination import ExampleKeyset, NewestFirst
from api.serializers import (
    ExampleSerializer,
    ImportRecordsSerializer,
    ImportUploadSerializer,
    JobEnvelopeSerializer,
    JobSerializer,
    LabelImportRecordsSerializer,
    LabelImportUploadSerializer,
)
from api.serializers_annotating import query_params
from curation.access import job_for_manager, job_for_user
from curation.models import Job
from curation.services.imports import ImportRequestError, import_start
from curation.services.jobs import JobFinishedError, job_cancel
from curation.services.label_imports import annotation_import_start
from curation.services.search_index import search_pending

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

NO_SUCH_EXAMPLE = "No such example."


class ExampleListView(generics.ListAPIView):
    """A project's examples in import (id) order, searched and filtered (annotate/search.py). A filter that cannot
    be applied answers 400 naming it. With ``q`` the answer also says how many examples are not searchable yet
    (``search_pending``)."""

    serializer_class = ExampleSerializer
    pagination_class = ExampleKeyset
    filters: search.ExampleFilters
    project: Project

    @extend_schema(
        parameters=[
            OpenApiParameter("external_id", str, description="Only the example with this id"),
            OpenApiParameter(
                "q",
                str,
                description='Full-text search over the content: words (all must appear), "a phrase", a or b, -word',
            ),
            OpenApiParameter("shape", str, enum=list(SHAPES), description="Only examples of this record shape"),
            OpenApiParameter(
                "status",
                str,
                enum=list(search.STATUSES),
                description="unlabelled: no label in the current round; in_progress: fewer than the overlap asks "
                "for; complete: as many as it asks for; resolved: a question of it was resolved",
            ),
            OpenApiParameter(
                "metadata.<key>", str, description="Only examples whose metadata has this key equal to the value"
            ),
            OpenApiParameter(
                "answer.<question>",
                str,
                description="Only examples an annotator gave this answer to the question (in the current round)",
            ),
            OpenApiParameter(
                "disagreement.<question>",
                float,
                description="Only examples whose annotators disagree on the question by at least this much (0 to 1; "
                "0: any disagreement)",
            ),
        ]
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Example]:
        project_id = self.kwargs["project_id"]
        project = access.project_access(self.request.user, project_id, may=access.may_browse_examples).project
        self.project = project
        try:
            self.filters = search.from_query(query_params(self.request), list(project.questions.all()))
        except search.FilterError as error:
            raise exceptions.ValidationError({error.parameter: [error.message]}) from None
        examples = Example.objects.for_project(project)
        if external_id := self.request.query_params.get("external_id"):
            examples = examples.filter(external_id=external_id)
        return examples

    def get_paginated_response(self, data: Any) -> Response:
        """A search also answers ``search_pending``: how many of the project's examples it cannot find yet, because
        their index job has not run (0 once every example is indexed)."""
        response = super().get_paginated_response(data)
        if self.filters.q:
            response.data["search_pending"] = search_pending(self.project)
        return response


class ExampleDetailView(generics.RetrieveAPIView):
    """An example, read-only: examples are immutable (PUT, PATCH and DELETE answer 405)."""

    serializer_class = ExampleSerializer

    def get_object(self) -> Example:
        example = Example.objects.filter(pk=self.kwargs["example_id"]).first()
        project_id = example.project_id if example else None
        access.access_to_object(self.request.user, project_id, may=access.may_browse_examples, missing=NO_SUCH_EXAMPLE)
        assert example is not None  # access_to_object raised 404 otherwise
        return example


def _import_body(
    request: Request, upload_form: type[Serializer], records_form: type[Serializer]
) -> tuple[UploadedFile | None, dict[str, Any]]:
    """The file or the posted records of an import request (of examples or of labels), checked by the form that
    fits."""
    try:
        data = request.data
    except RecursionError:  # a JSON body nested too deeply for the parser
        raise exceptions.ParseError("The JSON body is nested too deeply; records may nest 64 levels.") from None
    upload = request.FILES.get("file")
    if upload is not None:
        body = upload_form(data=data)
    elif isinstance(data, dict) and "records" in data:
        body = records_form(data=data)
    else:
        raise exceptions.ValidationError(
            {"file": ["send a multipart 'file' (.jsonl, .json, .csv, .parquet) or JSON {\"records\": [...]}"]}
        )
    body.is_valid(raise_exception=True)
    return upload, body.validated_data


def _import_refused(exc: ImportRequestError, upload: UploadedFile | None) -> exceptions.ValidationError:
    field = "file" if upload is not None else "records"
    return exceptions.ValidationError(
        {field: [str(exc)], **({"records_with_problems": exc.details} if exc.details else {})}
    )


class ImportView(APIView):
    """Import examples from a file (multipart ``file``) or from posted JSON ``{"records": [...]}``."""

    @extend_schema(
        request={"multipart/form-data": ImportUploadSerializer, "application/json": ImportRecordsSerializer},
        responses={202: JobEnvelopeSerializer},
    )
    def post(self, request: Request, project_id: int) -> Response:
        project_access = access.project_access(request.user, project_id, may=access.may_manage)
        upload, data = _import_body(request, ImportUploadSerializer, ImportRecordsSerializer)
        try:
            job = import_start(
                project=project_access.project,
                created_by=project_access.user,
                upload=upload,
                records=None if upload is not None else data["records"],
                on_duplicate=data["on_duplicate"],
            )
        except ImportRequestError as exc:
            raise _import_refused(exc, upload) from None
        return Response({"job": JobSerializer(job).data}, status=status.HTTP_202_ACCEPTED)


class AnnotationImportView(APIView):
    """Import labels made elsewhere (a crowdsourcing export, another tool) as annotations, from a file (multipart
    ``file``) or posted JSON ``{"records": [...]}``, one label per record: ``example`` (its external id),
    ``annotator`` (a username), ``answers``, and optionally ``submitted_at``, ``duration_ms`` and
    ``guideline_version``. A background job checks every record first and imports all of them or none: a bad
    record fails the job, which names it (``job.error.details``)."""

    @extend_schema(
        request={"multipart/form-data": LabelImportUploadSerializer, "application/json": LabelImportRecordsSerializer},
        responses={202: JobEnvelopeSerializer},
    )
    def post(self, request: Request, project_id: int) -> Response:
        project_access = access.project_access(request.user, project_id, may=access.may_manage)
        upload, data = _import_body(request, LabelImportUploadSerializer, LabelImportRecordsSerializer)
        try:
            job = annotation_import_start(
                project=project_access.project,
                created_by=project_access.user,
                upload=upload,
                records=None if upload is not None else data["records"],
            )
        except ImportRequestError as exc:
            raise _import_refused(exc, upload) from None
        return Response({"job": JobSerializer(job).data}, status=status.HTTP_202_ACCEPTED)


class ProjectJobListView(generics.ListAPIView):
    serializer_class = JobSerializer
    pagination_class = NewestFirst

    def get_queryset(self) -> QuerySet[Job]:
        project = access.project_access(self.request.user, self.kwargs["project_id"], may=access.may_manage).project
        return Job.objects.for_project(project).select_related("created_by")


class JobDetailView(generics.RetrieveAPIView):
    """A job, visible to its project's managers and, while still a member, to the user who started it."""

    serializer_class = JobSerializer

    def get_object(self) -> Job:
        return job_for_user(self.request.user, self.kwargs["job_id"])


class JobCancelView(APIView):
    """Cancel a queued or running job: it ends ``cancelled`` with nothing written. A finished job answers 409."""

    @extend_schema(request=None, responses={200: JobSerializer, 409: OpenApiResponse(description="already finished")})
    def post(self, request: Request, job_id: int) -> Response:
        job = job_for_manager(request.user, job_id)
        try:
            job = job_cancel(job=job)
        except JobFinishedError as exc:
            raise Conflict(str(exc)) from None
        return Response(JobSerializer(job).data)
