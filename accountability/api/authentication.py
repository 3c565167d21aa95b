"""API token authentication: django-rest-knox tokens (stored hashed, expiring), sent as
`Authorization: Token <token>`."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox import auth
from rest_framework import exceptions


class TokenAuthentication(auth.TokenAuthentication):
    """Knox, refusing a token that is not UTF-8 with a 401.

    Knox decodes the header as UTF-8 and would let UnicodeDecodeError escape as a 500 for
    a header such as `Token \\xe9` (headers arrive as Latin-1)."""

    def authenticate_credentials(self, token: bytes):
        try:
            token.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        return super().authenticate_credentials(token)


class TokenScheme(OpenApiAuthenticationExtension):
    """The security scheme in the OpenAPI document (drf-spectacular's knox extension only
    matches knox's own class)."""

    target_class = "accountability.api.authentication.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        scheme = build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Token")  # noqa: S106 (a header prefix)
        scheme["description"] = "`Authorization: Token <token>` with a token from `POST /api/v1/auth/token/`."
        return scheme
