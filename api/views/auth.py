"""Tokens and users."""

from __future__ import annotations

from django.contrib.auth import authenticate, get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers import TokenRequestSerializer, TokenSerializer, UserCreateSerializer


class TokenView(APIView):
    """Exchange a username and password for the API token used as ``Authorization: Token <key>``."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenSerializer}, auth=[])
    def post(self, request: Request) -> Response:
        body = TokenRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = authenticate(request._request, **body.validated_data)
        if user is None:
            raise serializers.ValidationError("wrong username or password")
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class IsStaff(permissions.BasePermission):
    message = "Only staff users may manage user accounts."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.is_staff)


class UserCreateView(APIView):
    permission_classes = [permissions.IsAuthenticated, IsStaff]

    @extend_schema(request=UserCreateSerializer, responses={201: UserCreateSerializer})
    def post(self, request: Request) -> Response:
        body = UserCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        user = get_user_model().objects.create_user(
            username=data["username"], password=data["password"], email=data.get("email", "")
        )
        return Response({"id": user.pk, "username": user.username}, status=status.HTTP_201_CREATED)
