"""Inspection statistics of a dataset version or of a whole project (API.md, "Curation: dataset versions"; the
figures are described in the README, "Inspecting a version"). Read by those who may browse the examples."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotate import access
from annotate.models import Project
from api.serializers import JobSerializer
from api.serializers_annotating import query_params
from api.serializers_curation import StatsPendingSerializer, StatsSerializer
from curation.access import version_access
from curation.models import DatasetVersion
from curation.services.stats import StatsQuery, StatsRequestError, StatsResult, stats_for, stats_query


class NoSuchVersionToCompare(exceptions.NotFound):
    """``compare`` names no version of this project the user may see: the same answer whether it exists or not."""

    def __init__(self, message: str, param: str):
        super().__init__(message)
        self.error_details = {"param": param}


PARAMETERS = [
    OpenApiParameter("slice", str, description="A metadata key: the same figures per value of it too (20 largest)"),
    OpenApiParameter(
        "compare", int, description="A version of the same project: its figures beside these, and what changed"
    ),
    OpenApiParameter("coverage", str, description="A metadata key whose values' shares are checked against targets"),
    OpenApiParameter(
        "target.{value}",
        OpenApiTypes.NUMBER,
        description="The target share (0–1) of one value of the coverage key, e.g. target.code=0.3; one parameter "
        "per value, shares adding up to at most 1",
    ),
]
RESPONSES = {200: StatsSerializer, 202: StatsPendingSerializer}


def _query(request: Request, project: Project) -> StatsQuery:
    try:
        return stats_query(query_params(request), project=project)
    except StatsRequestError as exc:
        if exc.code == "not_found":
            raise NoSuchVersionToCompare(exc.message, exc.param) from None
        raise exceptions.ValidationError({exc.param: [exc.message]}) from None


def _respond(result: StatsResult, project: Project, version: DatasetVersion | None) -> Response:
    if result.pending:
        jobs = JobSerializer(result.pending, many=True).data
        return Response({"job": jobs[0], "jobs": jobs}, status=status.HTTP_202_ACCEPTED)
    stored = result.stats
    assert stored is not None
    body: dict[str, Any] = {
        "project": project.pk,
        "version": version.pk if version else None,
        "slice": result.query.slice_key,
        "examples": stored.examples,
        "computed_at": stored.computed_at,
        "seconds": stored.seconds,
        "job": stored.job_id,
        "stats": stored.payload,
    }
    if result.compared is not None:
        body["compare"] = {
            "version": result.compared.version_id,
            "examples": result.compared.examples,
            "computed_at": result.compared.computed_at,
            "changes": result.comparison,
        }
    if (coverage := result.coverage) is not None:
        body["coverage"] = coverage
    return Response(body)


class VersionStatsView(APIView):
    """The version's inspection statistics: measured in the request for a version of up to WINNOW_STATS_INLINE_MAX
    examples, else by a job (202 with the job; ask again once it finished). Stored once measured."""

    @extend_schema(parameters=PARAMETERS, responses=RESPONSES)
    def get(self, request: Request, version_id: int) -> Response:
        version, project_access = version_access(request.user, version_id)
        query = _query(request, project_access.project)
        result = stats_for(project=project_access.project, version=version, query=query, user=project_access.user)
        return _respond(result, project_access.project, version)


class ProjectStatsView(APIView):
    """The inspection statistics of all the project's examples (measured again once their number changed)."""

    @extend_schema(parameters=PARAMETERS, responses=RESPONSES)
    def get(self, request: Request, project_id: int) -> Response:
        project_access = access.project_access(request.user, project_id, may=access.may_browse_examples)
        query = _query(request, project_access.project)
        result = stats_for(project=project_access.project, version=None, query=query, user=project_access.user)
        return _respond(result, project_access.project, None)
