"""Tokens and users."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.utils.cache import add_never_cache_headers
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotate import access
from annotate.services import user_create
from api.exceptions import TooManyAttempts
from api.serializers import TokenRequestSerializer, TokenSerializer, UserCreateSerializer
from config.sign_in import FailedSignIns


class TokenView(APIView):
    """Exchange a username and password for the API token used as ``Authorization: Token <key>``.

    Failed attempts count against the username and the client's address, as on the sign-in page
    (config/sign_in.py): past the limit the answer is 429 with ``Retry-After``, whatever the password.
    """

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            200: TokenSerializer,
            400: OpenApiResponse(description="Wrong username or password, or a missing one."),
            429: OpenApiResponse(description="Too many failed attempts; Retry-After says when to try again."),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        body = TokenRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        attempts = FailedSignIns.for_request(request._request, body.validated_data["username"])
        if (lockout := attempts.lockout()) is not None:
            raise TooManyAttempts(lockout.message, wait=lockout.wait)
        user = authenticate(request._request, **body.validated_data)
        if user is None:
            attempts.add_failure()
            raise serializers.ValidationError("wrong username or password")
        attempts.succeeded()
        token, _ = Token.objects.get_or_create(user=user)
        response = Response({"token": token.key})
        add_never_cache_headers(response)  # the token is a password: no cache may keep it
        return response


class IsStaff(permissions.BasePermission):
    message = access.STAFF_ONLY

    def has_permission(self, request: Request, view: APIView) -> bool:
        return access.may_create_users(request.user)


class UserCreateView(APIView):
    permission_classes = [permissions.IsAuthenticated, IsStaff]

    @extend_schema(request=UserCreateSerializer, responses={201: UserCreateSerializer})
    def post(self, request: Request) -> Response:
        body = UserCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        user = user_create(username=data["username"], password=data["password"], email=data["email"])
        return Response({"id": user.pk, "username": user.username}, status=status.HTTP_201_CREATED)
