"""Fixtures shared by the API tests."""

import pytest

from recommendations import page_views

from .factories import token_for


@pytest.fixture(autouse=True)
def _page_views_of_this_test():
    """Each test counts its own page views (they are kept in the process between flushes)."""
    page_views.reset()


@pytest.fixture
def auth(user):
    """The Authorization header of the module's own `user` fixture."""
    return {"Authorization": f"Bearer {token_for(user)}"}
