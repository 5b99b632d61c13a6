"""Fixtures shared by the API tests."""

from collections.abc import Generator

import pytest

from recommendations import page_views
from recommendations.models import User

from .factories import token_for


@pytest.fixture(autouse=True)
def _page_views_of_this_test():
    """Each test counts its own page views (they are kept in the process between flushes)."""
    page_views.reset()


@pytest.fixture
def staff(client):
    """A superuser signed in to the admin through the test client."""
    user = User.objects.create_superuser(
        email="admin@example.com", password="secret-password", name="운영자", gender="female"
    )
    client.force_login(user)
    return user


@pytest.fixture
def auth(user):
    """The Authorization header of the module's own `user` fixture."""
    return {"Authorization": f"Bearer {token_for(user)}"}


# Each test's reports by phase ("setup", "call", "teardown"), for fixtures that act on a failure
# (test_browser.py keeps the page's screenshot and HTML).
PHASE_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    item.stash.setdefault(PHASE_REPORTS, {})[report.when] = report
    return report
