"""Projects, their questions, guideline versions and members."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import OuterRef, QuerySet, Subquery
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotate import access, services
from annotate.counts import with_counts
from annotate.models import Guideline, Membership, Project, Role
from annotate.questions import KIND_KEYS, QuestionSpecError, parse_question
from api.pagination import LatestVersionFirst
from api.serializers import (
    GuidelineSerializer,
    MemberSerializer,
    ProjectSerializer,
    ProjectUpdateSerializer,
    ProjectWriteSerializer,
    QuestionChangeSerializer,
    QuestionListField,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def with_summary(projects: QuerySet[Project], user: User) -> QuerySet[Project]:
    """Add what the project representation shows, in the same query: current guideline and counts."""
    current = Guideline.objects.filter(project=OuterRef("pk")).order_by("-version")
    return with_counts(
        projects.annotate(
            guideline_version=Subquery(current.values("version")[:1]),
            guideline_text=Subquery(current.values("text")[:1]),
        ),
        user,
    ).prefetch_related("questions")


def project_response(
    project: Project, user: User, role: Role | None, status_code: int = status.HTTP_200_OK
) -> Response:
    """The project as ``user`` sees it, whose role in it is ``role``."""
    loaded = with_summary(Project.objects.filter(pk=project.pk), user).get()
    context = {"roles": {project.pk: role}}
    return Response(ProjectSerializer(loaded, context=context).data, status=status_code)


class ProjectListView(generics.ListAPIView):
    serializer_class = ProjectSerializer

    def get_queryset(self) -> QuerySet[Project]:
        user = access.signed_in(self.request.user)
        return with_summary(Project.objects.visible_to(user), user)

    def list(self, request: Request, *args: object, **kwargs: object) -> Response:
        page = self.paginate_queryset(self.get_queryset()) or []
        roles = access.roles_in(request.user, page)
        serializer = self.get_serializer(page, many=True, context={"roles": roles})
        return self.get_paginated_response(serializer.data)

    @extend_schema(request=ProjectWriteSerializer, responses={201: ProjectSerializer})
    def post(self, request: Request) -> Response:
        body = ProjectWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        user = access.signed_in(request.user)
        project = services.project_create(
            name=data["name"],
            description=data["description"],
            overlap=data["overlap"],
            guideline_text=data["guideline"],
            questions=data["questions"],
            created_by=user,
        )
        return project_response(project, user, access.role_in(user, project), status.HTTP_201_CREATED)


class ProjectDetailView(APIView):
    @extend_schema(responses=ProjectSerializer)
    def get(self, request: Request, project_id: int) -> Response:
        project_access = access.project_access(request.user, project_id, may=access.may_annotate)
        return project_response(project_access.project, project_access.user, project_access.role)

    @extend_schema(request=ProjectUpdateSerializer, responses=ProjectSerializer)
    def patch(self, request: Request, project_id: int) -> Response:
        project_access = access.project_access(request.user, project_id, may=access.may_manage)
        body = ProjectUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        services.project_update(project=project_access.project, **body.validated_data)
        return project_response(project_access.project, project_access.user, project_access.role)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, project_id: int) -> Response:
        project = access.project_access(request.user, project_id, may=access.may_manage).project
        project.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class QuestionsView(APIView):
    """The project's questions; managers may add more (and change or remove one: QuestionDetailView)."""

    @extend_schema(responses=QuestionListField)
    def get(self, request: Request, project_id: int) -> Response:
        project = access.project_access(request.user, project_id, may=access.may_annotate).project
        return Response({"results": [q.as_spec().as_dict() for q in project.questions.all()], "next": None})

    @extend_schema(request=QuestionListField, responses={201: QuestionListField})
    def post(self, request: Request, project_id: int) -> Response:
        project = access.project_access(request.user, project_id, may=access.may_manage).project
        raw = request.data if isinstance(request.data, list) else [request.data]
        specs = QuestionListField().run_validation(raw)
        created = services.questions_add(project=project, specs=specs)
        return Response([q.as_spec().as_dict() for q in created], status=status.HTTP_201_CREATED)


class QuestionDetailView(APIView):
    """One question. A question that has answers keeps its name, kind, labels and the range of its scale, and is
    not removed (annotate.services.questions): its answers are never lost or made invalid."""

    @extend_schema(request=QuestionChangeSerializer, responses=QuestionChangeSerializer)
    def patch(self, request: Request, project_id: int, name: str) -> Response:
        project = access.project_access(request.user, project_id, may=access.may_manage).project
        question = project.questions.filter(name=name).first()
        if question is None:
            raise NotFound(f"the project has no question named {name!r}")
        if not isinstance(request.data, dict):
            raise ValidationError("send an object with the question's keys to change")
        change = dict(request.data)
        current = question.as_spec().as_dict()
        if change.get("kind", question.kind) != question.kind:
            # The old kind's options and level mean nothing to the new kind.
            current = {k: v for k, v in current.items() if k not in {*KIND_KEYS[question.kind], "level"}}
        try:
            spec = parse_question(current | change)
        except QuestionSpecError as exc:
            raise ValidationError(exc.errors) from None
        updated = services.question_update(project=project, name=name, spec=spec)
        return Response(updated.as_spec().as_dict())

    @extend_schema(responses={204: None})
    def delete(self, request: Request, project_id: int, name: str) -> Response:
        project = access.project_access(request.user, project_id, may=access.may_manage).project
        services.question_remove(project=project, name=name)
        return Response(status=status.HTTP_204_NO_CONTENT)


class GuidelineListView(generics.ListAPIView):
    serializer_class = GuidelineSerializer
    pagination_class = LatestVersionFirst

    def get_queryset(self) -> QuerySet[Guideline]:
        """Every version for reviewers and managers; annotators work from the current version only."""
        project_access = access.project_access(self.request.user, self.kwargs["project_id"])
        versions = project_access.project.guidelines.select_related("created_by").order_by("-version")
        if not access.may_see_guideline_history(project_access.role):
            current = project_access.project.current_guideline_version()
            return versions.none() if current is None else versions.filter(version=current)
        return versions

    @extend_schema(request=GuidelineSerializer, responses={201: GuidelineSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        project_access = access.project_access(request.user, project_id, may=access.may_manage)
        body = GuidelineSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        guideline = services.guideline_add(
            project=project_access.project,
            text=body.validated_data["text"],
            note=body.validated_data.get("note", ""),
            created_by=project_access.user,
        )
        return Response(GuidelineSerializer(guideline).data, status=status.HTTP_201_CREATED)


class MemberListView(generics.ListAPIView):
    serializer_class = MemberSerializer

    def get_queryset(self) -> QuerySet[Membership]:
        project_id = self.kwargs["project_id"]
        project = access.project_access(self.request.user, project_id, may=access.may_see_members).project
        return project.memberships.select_related("user")

    @extend_schema(request=MemberSerializer, responses={201: MemberSerializer, 200: MemberSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        project = access.project_access(request.user, project_id, may=access.may_manage).project
        body = MemberSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        membership, created = services.member_set(
            project=project, username=body.validated_data["user"]["username"], role=body.validated_data["role"]
        )
        return Response(
            MemberSerializer(membership).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class MemberDetailView(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, project_id: int, username: str) -> Response:
        project = access.project_access(request.user, project_id, may=access.may_manage).project
        services.member_remove(project=project, username=username)
        return Response(status=status.HTTP_204_NO_CONTENT)
