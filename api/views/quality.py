"""Agreement and annotator statistics (API.md, Agreement and annotator statistics). Reviewers and managers only:
the figures are built from everyone's labels."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotate import access, annotator_report, measures
from annotate.services.reviews import question_named
from api.serializers_annotating import query_params
from api.serializers_quality import (
    AgreementQuerySerializer,
    AgreementSerializer,
    AnnotatorsQuerySerializer,
    AnnotatorsSerializer,
)


class AgreementView(APIView):
    """Inter-annotator agreement per question, optionally per metadata slice or guideline version."""

    @extend_schema(parameters=[AgreementQuerySerializer], responses=AgreementSerializer)
    def get(self, request: Request, project_id: int) -> Response:
        project = access.project_access(request.user, project_id, may=access.may_review).project
        query = AgreementQuerySerializer(data=query_params(request))
        query.is_valid(raise_exception=True)
        figures = measures.project_agreement(
            project,
            by=query.validated_data.get("by"),
            guideline_version=query.validated_data.get("guideline_version"),
            by_guideline_version=query.validated_data["by_guideline_version"],
            fresh=query.validated_data["fresh"],
        )
        return Response(figures)


class AnnotatorsView(APIView):
    """Each annotator's figures on one question against the others, and the annotators who stand out (flags)."""

    @extend_schema(parameters=[AnnotatorsQuerySerializer], responses=AnnotatorsSerializer)
    def get(self, request: Request, project_id: int) -> Response:
        project = access.project_access(request.user, project_id, may=access.may_review).project
        query = AnnotatorsQuerySerializer(data=query_params(request))
        query.is_valid(raise_exception=True)
        question = question_named(project, query.validated_data["question"])
        figures = annotator_report.project_annotators(
            project, question, by=query.validated_data.get("by"), fresh=query.validated_data["fresh"]
        )
        return Response(figures)
