"""Reviewing: the disagreement queue, resolutions, tie-breakers and reopening (API.md, Reviewing).

Reviewers and managers only. Annotators never see resolutions.
"""

from __future__ import annotations

from dataclasses import replace

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotate import access, metadata, review_queue, search
from annotate.models import Resolution
from annotate.services.reviews import question_named, reopen, resolution_set, resolutions_from_consensus, tiebreak
from api.pagination import KeysetPagination
from api.serializers_annotating import (
    ConsensusSerializer,
    DisagreementFilterSerializer,
    DisagreementPageSerializer,
    DisagreementSerializer,
    ExampleCountSerializer,
    ExampleIdsSerializer,
    ResolutionFilterSerializer,
    ResolutionSerializer,
    ResolutionSetSerializer,
    ResolvedCountSerializer,
    query_params,
)

METADATA_PREFIX = "metadata."


def metadata_filter(request: Request) -> dict[str, str]:
    """``metadata.<key>=<value>`` query parameters as {key: value}."""
    wanted: dict[str, str] = {}
    for name, value in query_params(request).items():
        if not name.startswith(METADATA_PREFIX):
            continue
        key = name[len(METADATA_PREFIX) :]
        if not metadata.filterable_key(key):
            raise exceptions.ValidationError({name: [f"cannot filter on the metadata key {key!r}"]})
        wanted[key] = value
    return wanted


class DisagreementListView(APIView):
    """Examples with two or more annotations of the question that do not all agree, most disagreement first."""

    @extend_schema(
        parameters=[
            OpenApiParameter("question", str, required=True, description="The question's name"),
            OpenApiParameter("annotator", str, description="Only examples this username labelled"),
            OpenApiParameter("resolved", bool, description="false: only unresolved examples; true: only resolved"),
            OpenApiParameter(
                "metadata.<key>", str, description="Only examples whose metadata has this key equal to the value"
            ),
            OpenApiParameter("min_disagreement", float, description="Only cases at least this far apart (0 to 1)"),
            OpenApiParameter("q", str, description="Full-text search over the content, as in the examples list"),
            OpenApiParameter("shape", str, description="Only examples of this record shape"),
            OpenApiParameter("status", str, description="unlabelled, in_progress, complete or resolved"),
            OpenApiParameter("answer.<question>", str, description="Only examples an annotator gave this answer"),
            OpenApiParameter(
                "disagreement.<question>", float, description="Only examples at least this far apart on that question"
            ),
            OpenApiParameter("cursor", str, description="The pagination cursor value."),
            OpenApiParameter("page_size", int, description="Number of results to return per page (up to 1000)."),
        ],
        responses=DisagreementPageSerializer,
    )
    def get(self, request: Request, project_id: int) -> Response:
        project = access.project_access(request.user, project_id, may=access.may_review).project
        query = DisagreementFilterSerializer(data=query_params(request))
        query.is_valid(raise_exception=True)
        question = question_named(project, query.validated_data.get("question"))
        annotator, nobody = review_queue.annotator_named(query.validated_data.get("annotator"))
        try:
            examples = search.from_query(query_params(request), list(project.questions.all()))
        except search.FilterError as error:
            raise exceptions.ValidationError({error.parameter: [error.message]}) from None
        filters = review_queue.Filters(
            question=question,
            annotator=annotator,
            no_such_annotator=nobody,
            metadata=metadata_filter(request),
            resolved=query.validated_data["resolved"],
            minimum=query.validated_data["min_disagreement"],
            examples=replace(examples, metadata={}),  # metadata: the queue's own filter, above
        )
        paginator = KeysetPagination()
        page = paginator.paginate_queue(filters, request)
        cases = review_queue.shown_cases(project, question, page)
        for case in cases:
            if case.resolution is not None:
                case.resolution.question = question
        data = DisagreementSerializer(cases, many=True, context={"question": question}).data
        return paginator.get_paginated_response(data)


class ResolutionListView(generics.ListAPIView):
    """The project's resolved (gold) values; posting records one, replacing an earlier one."""

    serializer_class = ResolutionSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("question", str, description="Only resolutions of this question"),
            OpenApiParameter("example", int, description="Only resolutions of this example"),
        ]
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Resolution]:
        project = access.project_access(self.request.user, self.kwargs["project_id"], may=access.may_review).project
        query = ResolutionFilterSerializer(data=query_params(self.request))
        query.is_valid(raise_exception=True)
        resolutions = Resolution.objects.filter(project=project).select_related("question", "reviewer")
        if "question" in query.validated_data:
            resolutions = resolutions.filter(question=question_named(project, query.validated_data["question"]))
        if "example" in query.validated_data:
            resolutions = resolutions.filter(example_id=query.validated_data["example"])
        return resolutions

    @extend_schema(request=ResolutionSetSerializer, responses={201: ResolutionSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        project_access = access.project_access(request.user, project_id, may=access.may_review)
        body = ResolutionSetSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        resolution = resolution_set(
            project=project_access.project,
            example_id=data["example"],
            question_name=data["question"],
            value=data["value"],
            reviewer=project_access.user,
            note=data["note"],
        )
        return Response(ResolutionSerializer(resolution).data, status=status.HTTP_201_CREATED)


class ConsensusView(APIView):
    """Resolve in bulk every unresolved example whose annotators are unanimous (or agree above the threshold)."""

    @extend_schema(request=ConsensusSerializer, responses=ResolvedCountSerializer)
    def post(self, request: Request, project_id: int) -> Response:
        project_access = access.project_access(request.user, project_id, may=access.may_review)
        body = ConsensusSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        resolved = resolutions_from_consensus(
            project=project_access.project,
            question_name=data["question"],
            method=data["method"],
            threshold=data["threshold"],
            reviewer=project_access.user,
        )
        return Response({"resolved": resolved})


class TiebreakView(APIView):
    """Offer each example to one more annotator (one who has not labelled it) beyond the overlap."""

    @extend_schema(request=ExampleIdsSerializer, responses=ExampleCountSerializer)
    def post(self, request: Request, project_id: int) -> Response:
        project = access.project_access(request.user, project_id, may=access.may_review).project
        body = ExampleIdsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return Response({"examples": tiebreak(project=project, example_ids=body.validated_data["examples"])})


class ReopenView(APIView):
    """Send examples back to annotation under the current guideline; earlier annotations are kept, marked with
    their guideline version and round, and the examples' resolutions are removed. Reviewers may, as on the review
    page: sending an example back is part of resolving it."""

    @extend_schema(request=ExampleIdsSerializer, responses=ExampleCountSerializer)
    def post(self, request: Request, project_id: int) -> Response:
        project = access.project_access(request.user, project_id, may=access.may_reopen).project
        body = ExampleIdsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return Response({"examples": reopen(project=project, example_ids=body.validated_data["examples"])})
