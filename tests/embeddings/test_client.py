"""EmbeddingClient: resolution, input checks, retries and faults (botocore Stubber)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from embeddings import (
    ConfigurationError,
    EmbeddingClient,
    EndpointNotFoundError,
    EndpointUnavailableError,
    InvalidInputError,
    ModelInvocationError,
    PayloadTooLargeError,
    UnexpectedResponseError,
)
from embeddings.retrying import RetryPolicy
from tests.embeddings.conftest import FIXTURE
from tests.embeddings.scripted import SESSION
from tests.embeddings.vectors import cosine

TEXTS: list[str] = FIXTURE["texts"]


@dataclass
class FakeTime:
    """A clock that moves only when the code under test sleeps."""

    now: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def client(fake_time: FakeTime) -> EmbeddingClient:
    return EmbeddingClient(
        "alex-embedding-endpoint",
        "eu-west-1",
        session=SESSION,
        retry_policy=RetryPolicy(
            deadline_seconds=120.0,
            sleep=fake_time.sleep,
            clock=fake_time.clock,
            jitter=lambda: 1.0,
        ),
    )


@pytest.fixture
def stub(client: EmbeddingClient) -> Iterator[Stubber]:
    with Stubber(client.runtime) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def body(value: Any) -> dict[str, Any]:
    raw = json.dumps(value).encode()
    return {"Body": StreamingBody(io.BytesIO(raw), len(raw)), "ContentType": "application/json"}


def expect_invoke(stub: Stubber, response: Any, texts: list[str] | None = None) -> None:
    params = {
        "EndpointName": "alex-embedding-endpoint",
        "ContentType": "application/json",
        "Accept": "application/json",
        "Body": ANY,
    }
    if texts is not None:
        params["Body"] = json.dumps(
            {
                "inputs": texts,
                "parameters": {"tokenize_kwargs": {"truncation": True, "max_length": 256}},
            }
        ).encode()
    stub.add_response("invoke_endpoint", body(response), params)


def expect_error(stub: Stubber, code: str, message: str, status: int, **extra: Any) -> None:
    stub.add_client_error(
        "invoke_endpoint",
        service_error_code=code,
        service_message=message,
        http_status_code=status,
        response_meta=extra or None,
    )


def test_batch_is_one_request_with_truncation_and_pools_every_text(
    client: EmbeddingClient,
    stub: Stubber,
    token_level: list[Any],
    expected_embeddings: list[list[float]],
) -> None:
    expect_invoke(stub, token_level, texts=TEXTS)

    vectors = client.embed(TEXTS)

    assert client.requests_sent == 1
    assert len(vectors) == 3
    for vector, expected in zip(vectors, expected_embeddings, strict=True):
        assert cosine(vector, expected) >= 0.9999


def test_embed_one_returns_one_vector(
    client: EmbeddingClient,
    stub: Stubber,
    token_level: list[Any],
    expected_embeddings: list[list[float]],
) -> None:
    expect_invoke(stub, [token_level[0]], texts=[TEXTS[0]])

    vector = client.embed_one(TEXTS[0])

    assert len(vector) == 384
    assert cosine(vector, expected_embeddings[0]) >= 0.9999


def test_invoke_raw_returns_the_endpoints_json_untouched(
    client: EmbeddingClient, stub: Stubber, token_level: list[Any]
) -> None:
    expect_invoke(stub, token_level[0])

    assert client.invoke_raw({"inputs": "vectorize me"}) == token_level[0]


def test_cold_start_is_retried_with_growing_backoff_until_it_answers(
    client: EmbeddingClient,
    stub: Stubber,
    fake_time: FakeTime,
    token_level: list[Any],
    expected_embeddings: list[list[float]],
) -> None:
    for _ in range(3):
        expect_error(stub, "ModelNotReadyException", "Model is not ready", 429)
    expect_error(stub, "ThrottlingException", "Rate exceeded", 400)
    expect_error(stub, "ServiceUnavailable", "Service Unavailable", 503)
    expect_invoke(stub, [token_level[1]], texts=[TEXTS[1]])

    vector = client.embed_one(TEXTS[1])

    assert cosine(vector, expected_embeddings[1]) >= 0.9999
    assert fake_time.sleeps == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert client.requests_sent == 6


def test_retries_stop_at_the_deadline_with_the_last_error(
    client: EmbeddingClient, stub: Stubber, fake_time: FakeTime
) -> None:
    for _ in range(11):
        expect_error(stub, "ModelNotReadyException", "Model is not ready", 429)

    with pytest.raises(EndpointUnavailableError) as raised:
        client.embed_one("vectorize me")

    # After nine waits (111 s) another 20 s would pass the 120 s deadline: the last wait is cut
    # to leave a last attempt its 0.5 s, and the eleventh error ends it.
    assert fake_time.sleeps == [1.0, 2.0, 4.0, 8.0, 16.0, 20.0, 20.0, 20.0, 20.0, 8.5]
    assert client.requests_sent == 11
    assert "after 11 attempts in 120 s" in str(raised.value)
    assert "ModelNotReadyException: Model is not ready" in str(raised.value)
    assert "deadline 120 s" in str(raised.value)


def test_not_found_names_the_endpoint_and_region(client: EmbeddingClient, stub: Stubber) -> None:
    expect_error(
        stub,
        "ValidationError",
        "Endpoint alex-embedding-endpoint of account 123456789012 not found.",
        400,
    )

    with pytest.raises(EndpointNotFoundError) as raised:
        client.embed_one("vectorize me")

    message = str(raised.value)
    assert "'alex-embedding-endpoint' was not found in region eu-west-1" in message
    assert "check the region" in message
    assert client.requests_sent == 1


def test_too_large_batch_is_split_until_it_fits_and_order_is_kept(
    client: EmbeddingClient,
    stub: Stubber,
    token_level: list[Any],
    expected_embeddings: list[list[float]],
) -> None:
    expect_error(stub, "ValidationError", "Request 1a2b has oversize body.", 400)
    expect_invoke(stub, [token_level[0]], texts=[TEXTS[0]])
    expect_error(stub, "413", "HTTP content length exceeded 5246976 bytes.", 413)
    expect_invoke(stub, [token_level[1]], texts=[TEXTS[1]])
    expect_invoke(stub, [token_level[2]], texts=[TEXTS[2]])

    vectors = client.embed(TEXTS)

    assert client.requests_sent == 5
    for vector, expected in zip(vectors, expected_embeddings, strict=True):
        assert cosine(vector, expected) >= 0.9999


def test_a_single_text_too_large_on_its_own_is_a_clear_error(
    client: EmbeddingClient, stub: Stubber
) -> None:
    expect_error(stub, "413", "HTTP content length exceeded 5246976 bytes.", 413)

    with pytest.raises(PayloadTooLargeError) as raised:
        client.embed_one("x" * 100)

    assert "text 0 (100 characters) is too large for one request" in str(raised.value)


def test_model_error_carries_the_containers_message(client: EmbeddingClient, stub: Stubber) -> None:
    stub.add_client_error(
        "invoke_endpoint",
        service_error_code="ModelError",
        service_message='Received client error (400) from primary with message "index out of '
        'range in self"',
        http_status_code=424,
        modeled_fields={"OriginalStatusCode": 400},
    )

    with pytest.raises(ModelInvocationError) as raised:
        client.embed_one("vectorize me")

    assert "(status 400)" in str(raised.value)
    assert "index out of range" in str(raised.value)
    assert client.requests_sent == 1


def test_wrong_number_of_results_is_an_error_not_a_gap(
    client: EmbeddingClient, stub: Stubber, token_level: list[Any]
) -> None:
    expect_invoke(stub, token_level[:2])

    with pytest.raises(UnexpectedResponseError) as raised:
        client.embed(TEXTS)

    assert "one result for each of the 3 texts sent" in str(raised.value)


def test_non_json_answer_is_an_error(client: EmbeddingClient, stub: Stubber) -> None:
    raw = b"<html>bad gateway</html>"
    stub.add_response(
        "invoke_endpoint",
        {"Body": StreamingBody(io.BytesIO(raw), len(raw)), "ContentType": "text/html"},
    )

    with pytest.raises(UnexpectedResponseError) as raised:
        client.embed_one("vectorize me")

    assert str(raised.value).startswith(
        "the endpoint's answer (text/html) cannot be read as JSON (Expecting value"
    )


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        ([], "texts is empty"),
        ("just one string", "texts must be a list of strings, got str"),
        (["ok", "", "  \n", 7, None], "4 unusable texts, nothing was sent: text 1 is empty"),
        (["ok", 7], "text 1 is int, not a string"),
        (["ok", "caf\udce9"], "text 1 is not valid Unicode (it holds a lone surrogate"),
        (
            [f"t{i}" if i % 2 else "" for i in range(20)],
            "10 unusable texts, nothing was sent: "
            "text 0 is empty or whitespace; text 2 is empty or whitespace; text 4 is empty or "
            "whitespace; text 6 is empty or whitespace; text 8 is empty or whitespace (and 5 more)",
        ),
    ],
)
def test_bad_input_is_refused_before_anything_is_sent(
    client: EmbeddingClient, stub: Stubber, texts: Any, message: str
) -> None:
    with pytest.raises(InvalidInputError) as raised:
        client.embed(texts)

    assert message in str(raised.value)
    assert client.requests_sent == 0


def test_embed_one_refuses_a_non_string(client: EmbeddingClient, stub: Stubber) -> None:
    with pytest.raises(InvalidInputError):
        client.embed_one(["a list"])  # type: ignore[arg-type]
    assert client.requests_sent == 0


def test_unserialisable_raw_payload_is_refused(client: EmbeddingClient, stub: Stubber) -> None:
    with pytest.raises(InvalidInputError) as raised:
        client.invoke_raw({"inputs": {1, 2}})

    assert "cannot be sent as JSON" in str(raised.value)


def test_endpoint_and_region_come_from_env_then_dotenv_then_defaults(
    monkeypatch: pytest.MonkeyPatch, isolated_aws: Any
) -> None:
    (isolated_aws / ".env").write_text(
        "SAGEMAKER_ENDPOINT=from-dotenv\nDEFAULT_AWS_REGION=ap-southeast-2\n"
    )
    assert (EmbeddingClient().endpoint_name, EmbeddingClient().region) == (
        "from-dotenv",
        "ap-southeast-2",
    )

    monkeypatch.setenv("SAGEMAKER_ENDPOINT", "from-env")
    monkeypatch.setenv("DEFAULT_AWS_REGION", "eu-north-1")
    client = EmbeddingClient()
    assert (client.endpoint_name, client.region) == ("from-env", "eu-north-1")
    assert client.runtime.meta.region_name == "eu-north-1"

    explicit = EmbeddingClient("explicit", "us-west-2")
    assert (explicit.endpoint_name, explicit.region) == ("explicit", "us-west-2")


def test_defaults_to_the_reference_endpoint_and_boto3_region(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ca-central-1")

    client = EmbeddingClient()

    assert (client.endpoint_name, client.region) == ("alex-embedding-endpoint", "ca-central-1")


def test_botocore_makes_one_attempt_and_the_policy_the_others(
    client: EmbeddingClient,
) -> None:
    config: Any = client.runtime.meta.config

    assert config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert config.read_timeout == 70.0
    assert config.connect_timeout == 5.0


def test_no_region_anywhere_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError) as raised:
        EmbeddingClient(session=boto3.Session())

    assert "no AWS region configured" in str(raised.value)


@pytest.mark.parametrize(
    "name", ["a b/c", "x" * 64, "x" * 300, "-leading", "trailing-", "under_score", "dot.ted"]
)
def test_an_endpoint_name_sagemaker_cannot_have_is_refused_before_anything_is_sent(
    name: str,
) -> None:
    with pytest.raises(InvalidInputError) as raised:
        EmbeddingClient(name, "us-east-1", session=SESSION)

    shown = repr(name[:80]) + ("..." if len(name) > 80 else "")
    assert str(raised.value) == (
        f"endpoint name {shown} ({len(name)} characters) cannot exist: SageMaker allows up to 63 "
        "letters, digits and hyphens, starting and ending with a letter or digit"
    )


def test_names_sagemaker_allows_are_kept() -> None:
    for name in ("a", "x" * 63, "alex--embedding-1", "A1-b2"):
        assert EmbeddingClient(name, "us-east-1", session=SESSION).endpoint_name == name


def test_the_name_rule_is_the_services_own() -> None:
    shape = SESSION.client("sagemaker-runtime", region_name="us-east-1").meta.service_model
    metadata = shape.shape_for("EndpointName").metadata
    assert (metadata["pattern"], metadata["max"]) == ("^[a-zA-Z0-9](-*[a-zA-Z0-9])*", 63)


def test_a_bad_name_or_region_from_the_environment_is_refused_with_the_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SAGEMAKER_ENDPOINT", "my endpoint")
    monkeypatch.setenv("DEFAULT_AWS_REGION", "us east 1")

    with pytest.raises(InvalidInputError) as raised:
        EmbeddingClient(max_length="abc", concurrency=0)  # type: ignore[arg-type]

    assert str(raised.value) == (
        "max_length='abc': give a whole number from 1 to 100000; concurrency=0: give a whole "
        "number from 1 to 200; endpoint name 'my endpoint' (11 characters) cannot exist: "
        "SageMaker allows up to 63 letters, digits and hyphens, starting and ending with a "
        "letter or digit; region 'us east 1' is not a region name, such as us-east-1"
    )


def test_no_region_is_said_with_every_other_problem() -> None:
    with pytest.raises(InvalidInputError) as raised:
        EmbeddingClient(session=boto3.Session(), concurrency=0, max_length=0)

    message = str(raised.value)
    assert "concurrency=0" in message
    assert "max_length=0" in message
    assert "no AWS region configured" in message


@pytest.mark.parametrize(
    ("options", "said"),
    [
        ({"endpoint_name": ""}, "the endpoint name is empty"),
        ({"region": ""}, "the region is empty"),
    ],
)
def test_an_empty_name_or_region_is_refused_not_replaced(
    options: dict[str, Any], said: str
) -> None:
    with pytest.raises(InvalidInputError, match=said):
        EmbeddingClient(**{"region": "us-east-1", **options}, session=boto3.Session())


def test_a_retry_policy_of_bad_delays_is_refused_before_anything_is_sent() -> None:
    policy = RetryPolicy(deadline_seconds=3, base_delay_seconds="x", max_delay_seconds=-1)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError) as raised:
        EmbeddingClient("ep", "us-east-1", session=boto3.Session(), retry_policy=policy)

    assert "retry_policy.base_delay_seconds='x'" in str(raised.value)
    assert "retry_policy.max_delay_seconds=-1" in str(raised.value)
