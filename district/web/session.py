"""The browser session: Flask's signed cookie, made only for a request that brings one.

Flask builds its cookie signer (an ``itsdangerous`` serializer) for every request, and reads seven cookie settings
to save even an empty session. Most requests to the hub have no session at all: every school agent's signed
request, and every token-authenticated API call. For those this interface hands Flask an empty session without
making the signer, and saves nothing, exactly as Flask's own interface would end up doing; a request that brings
the session cookie, or a session that was changed, goes through Flask's own code unchanged.
"""

from __future__ import annotations

from flask import Flask, Request, Response
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin

__all__ = ["CookieSessionInterface"]


class CookieSessionInterface(SecureCookieSessionInterface):
    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()  # what Flask's interface returns for a request without the cookie
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not session and not session.modified:
            # empty and untouched: Flask's own interface sets no cookie either, only "Vary: Cookie" when read
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


def init_app(app: Flask) -> None:
    app.session_interface = CookieSessionInterface()
