"""Fixtures shared by the API tests."""

import pytest

from .factories import token_for


@pytest.fixture
def auth(user):
    """The Authorization header of the module's own `user` fixture."""
    return {"Authorization": f"Bearer {token_for(user)}"}
