"""Exports (API.md, "Export"): the download made in the request, export jobs and their files, and the project's
chat templates with a preview on real rows. Managers only: exports and templates are project changes and data
leaving the project."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, generics, serializers, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotate import access
from api.serializers import JobEnvelopeSerializer, JobSerializer
from api.serializers_exports import ChatTemplateSerializer, ExportSerializer, builtin_templates
from curation import chat_templates
from curation.access import export_for, template_for, version_access, version_for
from curation.export.options import DOWNLOAD_OPTIONS, OptionError
from curation.export.service import check, download_file, export_file, export_start, plan_export
from curation.models import ChatTemplate, DatasetVersion, Export
from curation.services.templates import TemplateRequestError, preview, template_save

CONTENT_TYPES = {"jsonl": "application/x-ndjson", "parquet": "application/vnd.apache.parquet"}


class FormatIsAnOption(DefaultContentNegotiation):
    """``?format=`` names the export's format (API.md) here, not the response renderer DRF would pick by it."""

    settings = SimpleNamespace(URL_FORMAT_OVERRIDE=None)  # type: ignore[assignment]


class InvalidOption(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_option"

    def __init__(self, option: str, message: str, **details: Any):
        super().__init__(f"{option}: {message}", code="invalid_option")
        self.error_details = {"option": option, **details}


def _query_options(request: Request) -> dict[str, Any]:
    return {key: request.query_params.get(key) for key in request.query_params}


def _manager_version(request: Request, version_id: int) -> DatasetVersion:
    return version_for(request.user, version_id, may=access.may_manage)


DOWNLOAD_PARAMETERS = [
    OpenApiParameter(
        "format",
        str,
        required=True,
        enum=["text", "prompt_completion", "messages", "preference", "reward", "annotations"],
    ),
    OpenApiParameter("file", str, enum=["jsonl", "parquet"], description="default jsonl"),
    OpenApiParameter("template", str, description="chatml, llama3, mistral, or a template stored in the project"),
    OpenApiParameter("question", str, description="The preference or rating question that labels the rows"),
    OpenApiParameter(
        "labels", str, enum=["auto", "gold", "majority"], description="default auto: resolved, else majority/mean"
    ),
    OpenApiParameter("min_annotations", int),
    OpenApiParameter("min_agreement", float),
    OpenApiParameter("zscore", bool, description="reward: z-score each annotator's ratings first"),
    OpenApiParameter("conversational", bool, description="prompt/completion/chosen/rejected as message lists"),
    OpenApiParameter("system", str, description="A system prompt for rows that have none"),
    OpenApiParameter("with_id", bool, description="Add the example's id as the first column"),
    OpenApiParameter(
        "dry_run", bool, description="Answer with the counts (rows, skipped by reason, problems), no file"
    ),
]


class VersionExportDownloadView(APIView):
    """The version as one training file, made now and streamed. ``X-Winnow-Rows`` says how many rows it holds,
    ``X-Winnow-Skipped`` how many examples were left out and ``X-Winnow-Skipped-By`` why (``reason=n, …``)."""

    content_negotiation_class = FormatIsAnOption

    @extend_schema(
        parameters=DOWNLOAD_PARAMETERS,
        responses={
            (200, "application/x-ndjson"): OpenApiResponse(OpenApiTypes.BINARY, description="JSON Lines"),
            (200, "application/vnd.apache.parquet"): OpenApiResponse(OpenApiTypes.BINARY, description="Parquet"),
            400: OpenApiResponse(description="A bad option, named in error.details.option"),
        },
    )
    def get(self, request: Request, version_id: int) -> Any:
        version = _manager_version(request, version_id)
        raw = _query_options(request)
        dry_run = raw.pop("dry_run", None)
        try:
            plan = plan_export(version, raw, job=False)
        except OptionError as exc:
            raise InvalidOption(exc.option, exc.message, options=list(DOWNLOAD_OPTIONS)) from None
        if dry_run is not None and str(dry_run).lower() in ("true", "1", "yes"):
            return Response(check(plan).as_dict())
        handle, tally = download_file(plan)
        filename = f"version-{version.pk}-{plan.options.format}.{plan.options.file}"
        response = FileResponse(
            handle, as_attachment=True, filename=filename, content_type=CONTENT_TYPES[plan.options.file]
        )
        skipped = tally.as_dict()
        response["X-Winnow-Rows"] = str(tally.rows)
        response["X-Winnow-Skipped"] = str(skipped["skipped"])
        response["X-Winnow-Skipped-By"] = ", ".join(f"{k}={v}" for k, v in skipped["skipped_by"].items())
        return response


class VersionExportListView(generics.ListAPIView):
    """The version's finished exports, newest first; POST starts an export job (train/eval files + manifest)."""

    serializer_class = ExportSerializer

    def get_queryset(self) -> QuerySet[Export]:
        version = _manager_version(self.request, self.kwargs["version_id"])
        return Export.objects.filter(version=version).select_related("created_by")

    @extend_schema(
        request=inline_serializer(
            "ExportRequest",
            {
                "format": serializers.CharField(),
                "file": serializers.CharField(required=False),
                "template": serializers.CharField(required=False),
                "question": serializers.CharField(required=False),
                "labels": serializers.CharField(required=False),
                "min_annotations": serializers.IntegerField(required=False),
                "min_agreement": serializers.FloatField(required=False),
                "zscore": serializers.BooleanField(required=False),
                "conversational": serializers.BooleanField(required=False),
                "system": serializers.CharField(required=False),
                "with_id": serializers.BooleanField(required=False),
                "eval_fraction": serializers.FloatField(required=False),
                "fractions": serializers.ListField(child=serializers.FloatField(), required=False),
                "seed": serializers.IntegerField(required=False),
            },
        ),
        responses={
            202: JobEnvelopeSerializer,
            400: OpenApiResponse(description="A bad option, named in error.details.option"),
        },
    )
    def post(self, request: Request, version_id: int) -> Response:
        version, project_access = version_access(request.user, version_id, may=access.may_manage)
        try:
            job = export_start(version=version, user=project_access.user, raw=request.data)
        except OptionError as exc:
            raise InvalidOption(exc.option, exc.message) from None
        return Response({"job": JobSerializer(job).data}, status=status.HTTP_202_ACCEPTED)


class ExportDetailView(generics.RetrieveAPIView):
    """One export: its options, files (with their download links) and manifest."""

    serializer_class = ExportSerializer

    def get_object(self) -> Export:
        return export_for(self.request.user, self.kwargs["export_id"])


class ExportFileView(APIView):
    """One file of an export (or its manifest.json)."""

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY)})
    def get(self, request: Request, export_id: int, name: str) -> FileResponse:
        export = export_for(request.user, export_id)
        path = export_file(export, name)
        if path is None:
            raise Http404("No such file in this export.")
        kind = (
            "application/json"
            if name.endswith(".json")
            else CONTENT_TYPES.get(path.suffix.lstrip("."), "application/octet-stream")
        )
        return FileResponse(
            path.open("rb"), as_attachment=True, filename=f"export-{export.pk}-{name}", content_type=kind
        )


def _template_error(exc: TemplateRequestError) -> exceptions.ValidationError:
    error = exceptions.ValidationError({exc.field: [exc.message]})
    return error


class InvalidTemplate(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"

    def __init__(self, exc: TemplateRequestError):
        super().__init__(f"{exc.field}: {exc.message}", code="invalid")
        self.error_details = {"field": exc.field, "line": exc.line}


class ChatTemplateListView(APIView):
    """The templates an export may use: the built-in ones first, then the project's own (POST adds one)."""

    @extend_schema(
        responses={
            200: inline_serializer(
                "ChatTemplateList",
                {"results": ChatTemplateSerializer(many=True), "next": serializers.CharField(allow_null=True)},
            )
        }
    )
    def get(self, request: Request, project_id: int) -> Response:
        project = access.project_access(request.user, project_id, may=access.may_manage).project
        stored = ChatTemplateSerializer(ChatTemplate.objects.filter(project=project), many=True).data
        return Response({"results": [*builtin_templates(), *stored], "next": None})

    @extend_schema(request=ChatTemplateSerializer, responses={201: ChatTemplateSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        project_access = access.project_access(request.user, project_id, may=access.may_manage)
        try:
            template = template_save(project=project_access.project, user=project_access.user, raw=request.data)
        except TemplateRequestError as exc:
            raise InvalidTemplate(exc) from None
        return Response(ChatTemplateSerializer(template).data, status=status.HTTP_201_CREATED)


class ChatTemplateDetailView(APIView):
    @extend_schema(responses={200: ChatTemplateSerializer})
    def get(self, request: Request, template_id: int) -> Response:
        return Response(ChatTemplateSerializer(template_for(request.user, template_id)).data)

    @extend_schema(request=ChatTemplateSerializer, responses={200: ChatTemplateSerializer})
    def put(self, request: Request, template_id: int) -> Response:
        template = template_for(request.user, template_id)
        user = access.signed_in(request.user)
        try:
            template = template_save(project=template.project, user=user, raw=request.data, template=template)
        except TemplateRequestError as exc:
            raise InvalidTemplate(exc) from None
        return Response(ChatTemplateSerializer(template).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, template_id: int) -> Response:
        template_for(request.user, template_id).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class ChatTemplatePreviewView(APIView):
    """Render a template (``template``: a name, or the fields of one being written) on the first rows of a version
    (``version``) or of the project, with each row's problem: what an export would write or report."""

    @extend_schema(
        request=inline_serializer(
            "TemplatePreviewRequest",
            {
                "template": serializers.JSONField(help_text="A template's name, or {source, special_tokens, …}"),
                "version": serializers.IntegerField(required=False, allow_null=True),
                "format": serializers.CharField(required=False),
                "limit": serializers.IntegerField(required=False),
            },
        ),
        responses={
            200: inline_serializer(
                "TemplatePreview",
                {
                    "template": serializers.CharField(),
                    "format": serializers.CharField(),
                    "rows": serializers.ListField(child=serializers.DictField()),
                    "problems": serializers.IntegerField(),
                },
            )
        },
    )
    def post(self, request: Request, project_id: int) -> Response:
        project = access.project_access(request.user, project_id, may=access.may_manage).project
        body = request.data if isinstance(request.data, dict) else {}
        version = None
        if body.get("version") is not None:
            version = (
                DatasetVersion.objects.ready().filter(project=project, pk=_integer(body["version"], "version")).first()
            )
            if version is None:
                raise InvalidTemplate(TemplateRequestError("version", "no such version in this project"))
        try:
            result = preview(
                project=project,
                raw=body.get("template"),
                version=version,
                limit=body.get("limit", 5),
                fmt=body.get("format", "messages"),
            )
        except TemplateRequestError as exc:
            raise InvalidTemplate(exc) from None
        return Response(result)


def _integer(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTemplate(TemplateRequestError(field, "must be a version id (a whole number)"))
    return int(value)


__all__ = ["chat_templates"]
