"""The OpenAPI schema tells the truth: bounds, formats and enums as the API enforces them, every
error status each operation can answer (in the envelope, with an example), and the README's endpoint
table names what the schema does. (test_fuzz.py holds the running app to it.)"""

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def schema(client):
    return client.get("/api/schema/", {"format": "json"}).json()


def parameters(schema, path):
    return {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}


def test_page_parameters_carry_their_bounds(schema):
    for path in ("/api/recommendations", "/api/recommendations/stream"):
        found = parameters(schema, path)
        assert found["page"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000000, "default": 1}
        assert found["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 50, "default": 20}
        assert found["refresh"]["schema"]["type"] == "boolean"


def test_the_poll_ids_are_a_bounded_comma_separated_array(schema):
    ids = parameters(schema, "/api/recommendations/messages")["ids"]

    assert (ids["style"], ids["explode"], ids["required"]) == ("form", False, True)
    assert ids["schema"]["maxItems"] == 50 and ids["schema"]["minItems"] == 1
    assert ids["schema"]["items"] == {"type": "integer", "minimum": 1, "maximum": 10**18 - 1}


def test_sign_in_wants_an_email_and_a_non_blank_password(schema):
    body = schema["components"]["schemas"]["TokenRequest"]

    assert body["properties"]["email"]["format"] == "email"
    assert body["properties"]["password"]["minLength"] == 1
    assert body["required"] == ["email", "password"]


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        ("/api/recommendations", "get", {"200", "400", "401", "403", "406", "500", "501"}),
        ("/api/recommendations/messages", "get", {"200", "400", "401", "406", "500"}),
        ("/api/recommendations/stream", "get", {"200", "400", "401", "403", "500", "501"}),
        ("/api/auth/token", "post", {"200", "400", "401", "406", "413", "415", "429", "500"}),
    ],
)
def test_every_status_an_operation_can_answer_is_documented_in_the_envelope(schema, path, method, statuses):
    responses = schema["paths"][path][method]["responses"]

    assert set(responses) == statuses
    for status in statuses - {"200"}:
        [(media, content)] = responses[status]["content"].items()
        assert media == "application/json"
        assert content["schema"] == {"$ref": "#/components/schemas/Error"}
        [example] = content["examples"].values()
        assert example["value"]["success"] is False
        assert set(example["value"]["error"]) == {"code", "message"}


def test_the_success_examples_are_in_the_contract_shapes(schema):
    page = schema["paths"]["/api/recommendations"]["get"]["responses"]["200"]["content"]["application/json"]
    [example] = page["examples"].values()
    [outfit] = example["value"]["data"]["outfits"]
    properties = schema["components"]["schemas"]["Outfit"]["properties"]
    assert set(outfit) == set(properties)
    assert set(outfit["items"][0]) == set(schema["components"]["schemas"]["OutfitItem"]["properties"])


def test_the_readme_endpoint_tables_and_the_schema_name_the_same_api_routes(schema):
    # Every table headed "| URL | what |": the main one, and the web client's.
    tables = [part.split("\n\n", 1)[0] for part in README.read_text().split("| URL | what |")[1:]]
    routes = {
        (method or "GET", path)
        for table in tables
        for method, path in re.findall(r"^\| `(?:(GET|POST|PUT|PATCH|DELETE) )?(/api/[^`?]*)", table, re.M)
    }
    documented = {
        (method.upper(), path) for path, operations in schema["paths"].items() for method in operations
    }
    # The schema and the docs describe the API; they are not in the schema themselves.
    assert routes - {("GET", "/api/docs/")} == documented
