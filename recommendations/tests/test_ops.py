"""Probes and schema: /healthz, /readyz, /api/schema/, /api/docs/."""

import pytest


@pytest.mark.django_db
def test_healthz_is_alive_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_checks_database_and_cache(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok"}}


@pytest.mark.django_db
def test_readyz_stays_ready_but_says_degraded_when_the_cache_is_unreachable(client, settings):
    # Pages are served without the cache: a Redis outage must not take every worker out of rotation.
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        }
    }

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "checks": {"database": "ok", "cache": "unavailable"}}


@pytest.mark.django_db
def test_the_openapi_schema_describes_the_api(client):
    response = client.get("/api/schema/", headers={"Accept": "application/json"})

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert {"/api/recommendations", "/api/auth/token"} <= set(schema["paths"])
    parameters = {p["name"] for p in schema["paths"]["/api/recommendations"]["get"]["parameters"]}
    assert {"page", "limit"} <= parameters
    # llmMessageStatus: an enum of its three values.
    status = schema["components"]["schemas"]["Outfit"]["properties"]["llmMessageStatus"]
    [reference] = [part["$ref"] for part in status["allOf"]]
    assert schema["components"]["schemas"][reference.rsplit("/", 1)[1]]["enum"] == [
        "ready", "pending", "unavailable"
    ]


@pytest.mark.django_db
def test_the_openapi_schema_describes_the_respond_first_routes(client):
    schema = client.get("/api/schema/", headers={"Accept": "application/json"}).json()
    paths, components = schema["paths"], schema["components"]["schemas"]

    [messages] = [p for p in paths["/api/recommendations"]["get"]["parameters"] if p["name"] == "messages"]
    assert sorted(messages["schema"]["enum"]) == ["defer", "wait"]
    assert "501" in paths["/api/recommendations"]["get"]["responses"]
    poll = paths["/api/recommendations/messages"]["get"]
    assert [(p["name"], p["required"]) for p in poll["parameters"]] == [("ids", True)]
    entry = components["OutfitMessage"]["properties"]
    assert set(entry) == {"id", "llmMessage", "llmMessageStatus"}
    assert entry["llmMessage"]["nullable"] is True
    stream = paths["/api/recommendations/stream"]["get"]["responses"]
    assert list(stream["200"]["content"]) == ["text/event-stream"]
    assert {"400", "401", "501"} <= set(stream)


@pytest.mark.django_db
def test_the_api_docs_page_is_served_without_a_cdn(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    assert b"cdn.jsdelivr.net" not in response.content


@pytest.mark.django_db
def test_metrics_count_message_outcomes_and_pages(client, standin):
    from recommendations.tests.factories import make_coordi, make_user, token_for

    make_coordi()
    auth = {"Authorization": f"Bearer {token_for(make_user())}"}

    def sample(text: str, name: str) -> float:
        line = next((line for line in text.splitlines() if line.startswith(name + " ")), None)
        return float(line.split()[-1]) if line else 0.0

    before = client.get("/metrics").content.decode()
    client.get("/api/recommendations", headers=auth)
    response = client.get("/metrics")
    after = response.content.decode()

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    ok = 'llm_messages_total{outcome="ok"}'
    assert sample(after, ok) == sample(before, ok) + 1
    pages = "recommendations_page_seconds_count"
    assert sample(after, pages) == sample(before, pages) + 1
    assert "llm_calls_in_flight 0.0" in after
