"""Annotating: getting work, submitting and skipping, and reading annotations (API.md, Annotating).

Any member may annotate. Annotators read only their own annotations: every read starts from
``Annotation.objects.visible_to``.
"""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotate import access
from annotate.models import Annotation
from annotate.services.annotations import annotation_submit
from annotate.services.queue import next_assignment, skip
from api.pagination import NewestFirst
from api.serializers_annotating import (
    AnnotationDetailSerializer,
    AnnotationFilterSerializer,
    AnnotationRevisionSerializer,
    AnnotationSerializer,
    AnnotationSubmitSerializer,
    ExampleRefSerializer,
    NextSerializer,
    query_params,
)

NO_SUCH_ANNOTATION = "No such annotation."
NOT_ASSIGNED = OpenApiResponse(description="The example is not assigned to you (error code not_assigned).")


class NextView(APIView):
    """The example to annotate: the one you hold, else a newly assigned one. The same example comes back until
    you submit or skip it; 204 when nothing is left for you."""

    @extend_schema(responses={200: NextSerializer, 204: OpenApiResponse(description="Nothing left for you.")})
    def get(self, request: Request, project_id: int) -> Response:
        project_access = access.project_access(request.user, project_id, may=access.may_annotate)
        project = project_access.project
        assignment = next_assignment(project=project, annotator=project_access.user)
        if assignment is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        body = {
            "example": assignment.example,
            "guideline_version": project.current_guideline_version(),
            "assignment": assignment,
        }
        return Response(NextSerializer(body, context={"assignment_timeout": project.assignment_timeout}).data)


class AnnotationListView(generics.ListAPIView):
    """Annotations of the project, newest first. Annotators see only their own, whatever ``annotator`` says."""

    serializer_class = AnnotationSerializer
    pagination_class = NewestFirst

    @extend_schema(
        parameters=[
            OpenApiParameter("example", int, description="Only annotations of this example"),
            OpenApiParameter("annotator", str, description="Only annotations by this username"),
        ]
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Annotation]:
        project_access = access.project_access(self.request.user, self.kwargs["project_id"])
        query = AnnotationFilterSerializer(data=query_params(self.request))
        query.is_valid(raise_exception=True)
        annotations = (
            Annotation.objects.for_project(project_access.project)
            .visible_to(project_access.user, project_access.role)
            .select_related("annotator")
        )
        if "example" in query.validated_data:
            annotations = annotations.filter(example_id=query.validated_data["example"])
        if "annotator" in query.validated_data:
            annotations = annotations.filter(annotator__username=query.validated_data["annotator"])
        return annotations

    @extend_schema(
        request=AnnotationSubmitSerializer,
        responses={201: AnnotationDetailSerializer, 403: NOT_ASSIGNED},
        description=(
            "Submit answers for the example you hold. Submitting again for the same example replaces the answers "
            "(the earlier ones are kept under revisions) and also answers 201."
        ),
    )
    def post(self, request: Request, project_id: int) -> Response:
        project_access = access.project_access(request.user, project_id, may=access.may_annotate)
        body = AnnotationSubmitSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        annotation, created = annotation_submit(
            project=project_access.project,
            annotator=project_access.user,
            example_id=data["example"],
            answers=data["answers"],
            duration_ms=data.get("duration_ms"),
            started_at=data.get("started_at"),
            display_order=data.get("display_order"),
        )
        # AnnotationDetailSerializer's shape, with the annotation as stored; its earlier answers are read (one
        # query) only for an edit: a new annotation has none.
        stored = AnnotationSerializer(annotation).data
        stored["revisions"] = AnnotationRevisionSerializer(
            [] if created else annotation.revisions.all(), many=True
        ).data
        return Response(stored, status=status.HTTP_201_CREATED)


class AnnotationDetailView(APIView):
    """One annotation with its earlier answers. Another annotator's annotation is 404 to an annotator."""

    @extend_schema(responses=AnnotationDetailSerializer)
    def get(self, request: Request, annotation_id: int) -> Response:
        project_id = Annotation.objects.filter(pk=annotation_id).values_list("project_id", flat=True).first()
        project_access = access.access_to_object(request.user, project_id, missing=NO_SUCH_ANNOTATION)
        annotation = (
            Annotation.objects.for_project(project_access.project)
            .visible_to(project_access.user, project_access.role)
            .select_related("annotator")
            .prefetch_related("revisions")
            .filter(pk=annotation_id)
            .first()
        )
        if annotation is None:
            raise exceptions.NotFound(NO_SUCH_ANNOTATION)
        return Response(AnnotationDetailSerializer(annotation).data)


class SkipView(APIView):
    """Give back the example you hold; it goes to others and is never offered to you again."""

    @extend_schema(request=ExampleRefSerializer, responses={204: None, 403: NOT_ASSIGNED})
    def post(self, request: Request, project_id: int) -> Response:
        project_access = access.project_access(request.user, project_id, may=access.may_annotate)
        body = ExampleRefSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        skip(project=project_access.project, annotator=project_access.user, example_id=body.validated_data["example"])
        return Response(status=status.HTTP_204_NO_CONTENT)
