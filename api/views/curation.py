"""Dataset versions (runs of the curation pipeline), their kept examples and removals, and the filter catalog."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotate import access
from api.serializers import JobEnvelopeSerializer, JobSerializer
from api.serializers_curation import (
    DatasetVersionSerializer,
    DryRunSerializer,
    QueueScopeRequestSerializer,
    QueueScopeSerializer,
    RemovalSerializer,
    VersionCreateSerializer,
    VersionExampleSerializer,
)
from curation.access import version_for
from curation.models import DatasetVersion, Removal, VersionMember
from curation.services.versions import (
    VersionRequestError,
    filter_dry_run,
    queue_limit_to_version,
    queue_scope,
    version_start,
)
from curation.steps import filters


class InvalidRequest(exceptions.APIException):
    """A 400 whose details say which step and option to fix (or list the choices). A version the user may not
    see is "no such version" (``not_found`` in the message), still a 400: the body named it, not the URL."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"

    def __init__(self, exc: VersionRequestError):
        super().__init__(exc.message, code="invalid_step" if exc.field == "steps" else "invalid")
        self.error_details = {"field": exc.field, **(exc.details or {})}


class VersionListView(generics.ListAPIView):
    """The project's dataset versions, newest first (POST: run the pipeline to make a new one)."""

    serializer_class = DatasetVersionSerializer

    def get_queryset(self) -> QuerySet[DatasetVersion]:
        project = access.project_access(
            self.request.user, self.kwargs["project_id"], may=access.may_browse_examples
        ).project
        return DatasetVersion.objects.ready().for_project(project).select_related("created_by")

    @extend_schema(request=VersionCreateSerializer, responses={202: JobEnvelopeSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        project_access = access.project_access(request.user, project_id, may=access.may_manage)
        body = VersionCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            job = version_start(
                project=project_access.project,
                created_by=project_access.user,
                steps=data["steps"],
                parent=data["parent"],
                name=data["name"],
                sample=data["sample"],
                seed=data["seed"],
            )
        except VersionRequestError as exc:
            raise InvalidRequest(exc) from None
        return Response({"job": JobSerializer(job).data}, status=status.HTTP_202_ACCEPTED)


class VersionDetailView(generics.RetrieveAPIView):
    serializer_class = DatasetVersionSerializer

    def get_object(self) -> DatasetVersion:
        return version_for(self.request.user, self.kwargs["version_id"])


class VersionExampleListView(generics.ListAPIView):
    """The examples a version kept, with their content as its steps left it."""

    serializer_class = VersionExampleSerializer

    def get_queryset(self) -> QuerySet[VersionMember]:
        version = version_for(self.request.user, self.kwargs["version_id"])
        return VersionMember.objects.filter(version=version).select_related("example")


class VersionRemovalListView(generics.ListAPIView):
    """The examples a version's steps dropped, each with its rule and why."""

    serializer_class = RemovalSerializer

    @extend_schema(parameters=[OpenApiParameter("rule", str, description="Only this rule, e.g. dedup.minhash")])
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Removal]:
        version = version_for(self.request.user, self.kwargs["version_id"])
        removals = Removal.objects.filter(version=version).select_related("example")
        if rule := self.request.query_params.get("rule"):
            if "\x00" in rule or len(rule) > 80:
                raise exceptions.ValidationError({"rule": ["not a rule name"]})
            removals = removals.filter(rule=rule)
        return removals


class FilterCatalogView(APIView):
    """Every filter rule a filter step may use, with its options and their defaults."""

    @extend_schema(
        responses={
            200: inline_serializer(
                "FilterCatalog",
                {
                    "results": serializers.ListField(child=serializers.DictField()),
                    "next": serializers.CharField(allow_null=True),
                },
            )
        }
    )
    def get(self, request: Request) -> Response:
        access.signed_in(request.user)
        return Response({"results": filters.catalog(), "next": None})


class FilterDryRunView(APIView):
    """What a filter step would remove from a random sample of the project (or of a version), without making a
    version."""

    @extend_schema(
        request=DryRunSerializer,
        responses={
            200: inline_serializer(
                "FilterDryRun",
                {
                    "sample": serializers.IntegerField(),
                    "removed": serializers.IntegerField(),
                    "kept": serializers.IntegerField(),
                    "removed_by": serializers.DictField(child=serializers.IntegerField()),
                    "removals": serializers.ListField(child=serializers.DictField()),
                },
            )
        },
    )
    def post(self, request: Request, project_id: int) -> Response:
        project_access = access.project_access(request.user, project_id, may=access.may_manage)
        body = DryRunSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            result = filter_dry_run(
                project=project_access.project,
                user=project_access.user,
                rules=data["rules"],
                sample=data["sample"],
                parent=data["parent"],
                seed=data["seed"],
            )
        except VersionRequestError as exc:
            raise InvalidRequest(exc) from None
        return Response(result)


class QueueScopeView(APIView):
    """Which examples the annotation queue hands out: all of them, or only a dataset version's (PUT
    ``{"version": <id>}``; ``{"version": null}`` lifts the limit). Held and answered examples are kept either way."""

    @extend_schema(responses={200: QueueScopeSerializer})
    def get(self, request: Request, project_id: int) -> Response:
        project = access.project_access(request.user, project_id, may=access.may_browse_examples).project
        return Response(queue_scope(project))

    @extend_schema(request=QueueScopeRequestSerializer, responses={200: QueueScopeSerializer})
    def put(self, request: Request, project_id: int) -> Response:
        project = access.project_access(request.user, project_id, may=access.may_manage).project
        body = QueueScopeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            scope = queue_limit_to_version(project=project, version=body.validated_data["version"])
        except VersionRequestError as exc:
            raise InvalidRequest(exc) from None
        return Response(scope)
