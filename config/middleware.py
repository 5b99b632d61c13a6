"""Django's own middleware, run inline on the event loop under ASGI.

In async mode Django runs each MiddlewareMixin's process_request/process_view/process_response in a
thread (sync_to_async), one hop each: ~2 ms a request for the usual seven. The work these do is pure
CPU (headers, cookies, lazy objects), so here it runs inline; the one step with I/O, saving a modified
session, still goes to a thread. Under WSGI they behave exactly as Django's own. Static files are
ServeStatic's (servestatic.middleware.ServeStaticMiddleware, async already).
"""

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware
from django.middleware.csrf import CsrfViewMiddleware
from django.middleware.security import SecurityMiddleware


class _Inline:
    """process_request and process_response called directly, not through sync_to_async."""

    async def __acall__(self, request):
        response = None
        if hasattr(self, "process_request"):
            response = self.process_request(request)
        response = response or await self.get_response(request)
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
    def __init__(self, get_response):
        super().__init__(get_response)
        if self.async_mode:
            # A coroutine, so Django's async handler calls it without a thread hop.
            self.process_view = self._process_view_inline

    async def _process_view_inline(self, request, callback, callback_args, callback_kwargs):
        return super().process_view(request, callback, callback_args, callback_kwargs)


class InlineSessionMiddleware(SessionMiddleware):
    async def __acall__(self, request):
        self.process_request(request)  # a lazy session store: no I/O yet
        response = await self.get_response(request)
        session = request.session
        if session.modified or (settings.SESSION_SAVE_EVERY_REQUEST and session.accessed):
            return await sync_to_async(self.process_response)(request, response)
        return self.process_response(request, response)  # headers and cookies only
