"""Django's own middleware, run inline on the event loop under ASGI.

In async mode Django runs each MiddlewareMixin's process_request/process_view/process_response in a
thread (sync_to_async), one hop each: ~2 ms a request for the usual seven. The work these do is pure
CPU (headers, cookies, lazy objects), so here it runs inline; the one step with I/O, saving a modified
session, still goes to a thread. Under WSGI they behave exactly as Django's own. Static files are
ServeStatic's (servestatic.middleware.ServeStaticMiddleware, async already).
"""

from collections.abc import Awaitable, Callable
from typing import Any, cast

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware
from django.middleware.csrf import CsrfViewMiddleware
from django.middleware.security import SecurityMiddleware
from django.utils.deprecation import MiddlewareMixin

GetResponse = Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]]


class _Inline(MiddlewareMixin):
    """process_request and process_response called directly, not through sync_to_async."""

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        response = None
        if hasattr(self, "process_request"):
            response = self.process_request(request)
        # In async mode (the only one that calls __acall__) get_response is a coroutine function.
        response = response or await cast(Awaitable[HttpResponseBase], self.get_response(request))
        if hasattr(self, "process_response"):
            response = self.process_response(request, response)
        return response


class InlineSecurityMiddleware(_Inline, SecurityMiddleware):
    pass


class InlineCommonMiddleware(_Inline, CommonMiddleware):
    pass


class InlineAuthenticationMiddleware(_Inline, AuthenticationMiddleware):
    pass  # request.user stays lazy: it is loaded, in a thread, only by what reads it


class InlineMessageMiddleware(_Inline, MessageMiddleware):
    pass  # storing messages writes to the cookie or the session, saved by the session middleware


class InlineXFrameOptionsMiddleware(_Inline, XFrameOptionsMiddleware):
    pass


class InlineCsrfViewMiddleware(_Inline, CsrfViewMiddleware):
    def __init__(self, get_response: GetResponse) -> None:
        super().__init__(get_response)
        if self.async_mode:
            # A coroutine, so Django's async handler calls it without a thread hop. (Django picks the
            # sync or async variant per instance; the stubs know only the sync method.)
            self.process_view = self._process_view_inline  # type: ignore[method-assign,assignment]

    async def _process_view_inline(
        self,
        request: HttpRequest,
        callback: Callable[..., Any],
        callback_args: tuple[Any, ...],
        callback_kwargs: dict[str, Any],
    ) -> HttpResponseBase | None:
        return super().process_view(request, callback, callback_args, callback_kwargs)


class InlineSessionMiddleware(SessionMiddleware):
    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        self.process_request(request)  # a lazy session store: no I/O yet
        # In async mode (the only one that calls __acall__) get_response is a coroutine function.
        response = await cast(Awaitable[HttpResponseBase], self.get_response(request))
        session = request.session
        # django-stubs types process_response for an HttpResponse; Django's takes any response.
        if session.modified or (settings.SESSION_SAVE_EVERY_REQUEST and session.accessed):
            return await sync_to_async(self.process_response)(request, response)  # type: ignore[arg-type]
        return self.process_response(request, response)  # type: ignore[arg-type]  # headers, cookies only
