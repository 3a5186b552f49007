"""SageMaker's front end and the container's queue, around a scripted model so that timings are
exact: throttling past max concurrency, the 60 s invocation timeout, body and answer limits,
work nobody waits for never started, the model lent in order of arrival, stopping that answers
the queue at once, and ordinary abuse (idle, stalled and departing clients, bursts)."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from embeddings.server import ServeOptions, app, sagemaker
from embeddings.server.huggingface import MMS_QUEUE
from tests.embeddings.server.conftest import (
    Scripted,
    call,
    http_request,
    in_background,
    raw_exchange,
    serving_in_thread,
    wait_for,
)
from tests.embeddings.server.scripted_serve import ScriptedModel, scripted_container

JSON = {"Content-Type": "application/json"}
MB = 1024 * 1024


def test_past_max_concurrency_calls_are_throttled_as_sagemaker_throttles(
    scripted: Scripted,
) -> None:
    running = [scripted.in_background(f"slow-{index}", sleep=0.5) for index in range(2)]
    wait_for(lambda: scripted.container.busy and scripted.container.waiting == 1)

    status, headers, body = scripted.invoke("third")

    assert (status, headers["x-amzn-errortype"]) == (400, "ThrottlingException")
    assert "--max-concurrency" in json.loads(body)["message"]
    for thread, answers in running:
        thread.join(timeout=10)
        assert answers[0][0] == 200
    assert scripted.invoke("later")[0] == 200
    assert sorted(scripted.model.ran[:2]) == ["slow-0", "slow-1"]
    assert scripted.model.ran[2:] == ["later"]


def test_an_invocation_past_the_timeout_is_sagemakers_model_error(
    scripted: Scripted, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sagemaker, "INVOCATION_TIMEOUT_SECONDS", 0.5)
    started = time.monotonic()

    status, headers, body = scripted.invoke("slow", sleep=1.5)

    assert time.monotonic() - started < 1.2  # answered at the timeout, not when the model ends
    error = json.loads(body)
    assert (status, headers["x-amzn-errortype"], error["OriginalStatusCode"]) == (
        424,
        "ModelError",
        0,
    )
    assert error["OriginalMessage"] == sagemaker.TIMED_OUT.body.decode()
    assert error["message"].startswith(
        'Received server error (0) from primary with message "Your invocation timed out'
    )


def test_a_call_that_timed_out_waiting_for_its_turn_is_never_run(
    scripted: Scripted, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sagemaker, "INVOCATION_TIMEOUT_SECONDS", 0.5)
    first, _ = scripted.in_background("holds-the-model", sleep=1.0)
    wait_for(lambda: scripted.container.busy)

    status, headers, _ = scripted.invoke("waits-too-long")
    first.join(timeout=10)
    wait_for(lambda: not scripted.container.busy)  # its prediction ran on to its end

    assert (status, headers["x-amzn-errortype"]) == (424, "ModelError")
    assert scripted.invoke("after")[0] == 200
    assert scripted.model.ran == ["holds-the-model", "after"]


def test_a_call_whose_client_left_is_never_run_and_is_logged(
    scripted: Scripted, server_log: pytest.LogCaptureFixture
) -> None:
    first, _ = scripted.in_background("holds-the-model", sleep=0.8)
    wait_for(lambda: scripted.container.busy)
    body = json.dumps({"id": "left"}).encode()
    with socket.create_connection(("127.0.0.1", scripted.port)) as gone:
        gone.sendall(
            b"POST /endpoints/x/invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
            b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        wait_for(lambda: scripted.container.waiting == 1)
    wait_for(lambda: scripted.container.waiting == 0)
    first.join(timeout=10)

    assert scripted.invoke("after")[0] == 200
    assert scripted.model.ran == ["holds-the-model", "after"]
    assert "/endpoints/x/invocations: the client left before its answer" in server_log.text


def test_calls_get_the_model_in_order_of_arrival() -> None:
    model = ScriptedModel()
    container = scripted_container(model)
    with serving_in_thread(ServeOptions("m", "t", max_concurrency=8), container) as (_, port):
        first, _ = in_background(port, "first", sleep=0.3)
        wait_for(lambda: container.busy)
        waiting = []
        for index in range(6):
            waiting.append(in_background(port, f"waiting-{index}", sleep=0.02)[0])
            wait_for(lambda: container.waiting == len(waiting))
        for thread in [first, *waiting]:
            thread.join(timeout=10)

    assert model.ran == ["first"] + [f"waiting-{index}" for index in range(6)]


def test_stopping_answers_the_waiting_calls_at_once_and_finishes_the_running_one(
    scripted: Scripted,
) -> None:
    first, first_answer = scripted.in_background("running", sleep=0.9)
    wait_for(lambda: scripted.container.busy)
    waiting, waiting_answer = scripted.in_background("waiting")
    wait_for(lambda: scripted.container.waiting == 1)

    stopped = time.monotonic()
    scripted.server.should_exit = True  # what uvicorn does on SIGTERM
    waiting.join(timeout=10)
    answered = time.monotonic() - stopped
    first.join(timeout=10)

    assert answered < 0.5  # not after the running prediction
    status, _, body = waiting_answer[0]
    assert (status, json.loads(body)["OriginalStatusCode"]) == (424, 503)
    assert "the local endpoint is stopping" in json.loads(body)["OriginalMessage"]
    assert first_answer[0][0] == 200
    assert scripted.model.ran == ["running"]


@pytest.mark.parametrize("chunked", [False, True])
def test_an_oversized_body_is_refused_with_sagemakers_validation_error(
    scripted: Scripted, chunked: bool
) -> None:
    body = b"x" * (6 * MB + 1)
    chunks = [body[:MB], body[MB:]] if chunked else None
    status, headers, answer = http_request(
        scripted.port, "POST", "/endpoints/x/invocations", body, JSON, chunks=chunks
    )

    assert (status, headers["x-amzn-errortype"]) == (413, "ValidationError")
    request_id = headers["x-amzn-requestid"]
    assert json.loads(answer)["message"] == f"Request {request_id} has oversize body."
    assert headers["connection"] == "close"
    assert scripted.invoke("after")[0] == 200
    assert scripted.model.ran == ["after"]


def test_a_body_declared_too_large_is_refused_before_it_is_sent(scripted: Scripted) -> None:
    started = time.monotonic()
    answer = raw_exchange(
        scripted.port,
        b"POST /endpoints/x/invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
        b"\r\nContent-Length: 7000000\r\nExpect: 100-continue\r\n\r\n",
        wait=10,
    )

    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"100 Continue" not in answer
    assert time.monotonic() - started < 5


def test_a_chunked_body_is_read_like_any_other(scripted: Scripted) -> None:
    pieces = [b'{"id": ', b'"chunked"', b"}"]
    status, _, body = http_request(
        scripted.port, "POST", "/endpoints/x/invocations", None, JSON, chunks=pieces
    )

    assert (status, json.loads(body)) == (200, [[]])
    assert scripted.model.ran == ["chunked"]


def test_a_body_that_stops_arriving_gets_a_408_and_the_connection_closed(
    scripted: Scripted, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app, "BODY_IDLE_SECONDS", 0.5)
    started = time.monotonic()

    answer = raw_exchange(
        scripted.port,
        b"POST /endpoints/x/invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
        b'\r\nContent-Length: 100\r\n\r\n{"inp',
        wait=10,
    )

    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"x-amzn-errortype: requesttimeout" in answer.lower()
    assert 0.4 < time.monotonic() - started < 5  # and the connection was closed
    assert scripted.invoke("after")[0] == 200


def test_a_client_that_leaves_mid_body_is_one_log_line(
    scripted: Scripted, server_log: pytest.LogCaptureFixture
) -> None:
    for path in ("/invocations", "/endpoints/x/invocations", "/"):
        with socket.create_connection(("127.0.0.1", scripted.port)) as sock:
            sock.sendall(
                f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc".encode()
            )
            time.sleep(0.1)
    wait_for(lambda: server_log.text.count("the client left before its answer") == 3)

    assert http_request(scripted.port, "GET", "/ping")[0] == 200
    assert "Traceback" not in server_log.text
    assert scripted.model.ran == []


def test_answers_over_invokeendpoints_limit_are_model_errors() -> None:
    """Realtime: 6 MB (the container itself stops at MMS's 6,553,500 bytes); serverless: 4 MB."""
    model = ScriptedModel()
    realtime = ServeOptions("m", "t")
    with serving_in_thread(realtime, scripted_container(model)) as (_, port):
        five = call(port, "5 MB", bytes=5 * MB)
        seven = call(port, "7 MB", bytes=7 * MB)
    serverless = ServeOptions("m", "t", serverless=True)
    with serving_in_thread(serverless, scripted_container(model)) as (_, port):
        small = call(port, "5 MB", bytes=5 * MB)

    assert five[0] == 200
    assert 5 * MB < len(five[2]) < 6 * MB
    assert (seven[0], json.loads(seven[2])["OriginalStatusCode"]) == (424, 500)
    assert (small[0], json.loads(small[2])["OriginalStatusCode"]) == (424, 500)
    assert "over InvokeEndpoint's limit of 4 MB" in json.loads(small[2])["OriginalMessage"]


def test_the_containers_queue_holds_100_and_refuses_more_with_503() -> None:
    model = ScriptedModel()
    container = scripted_container(model)
    with serving_in_thread(ServeOptions("m", "t"), container) as (_, port):
        first, _ = in_background(port, "holds-the-model", path="/invocations", sleep=1.0)
        wait_for(lambda: container.busy)
        queued = [in_background(port, f"queued-{i}", path="/invocations") for i in range(MMS_QUEUE)]
        wait_for(lambda: container.waiting == MMS_QUEUE)

        status, _, body = http_request(port, "POST", "/invocations", b'{"id": "over"}', JSON)
        for thread, _ in [(first, None), *queued]:
            thread.join(timeout=30)

    assert (status, json.loads(body)["type"]) == (503, "ServiceUnavailableException")
    assert all(answers[0][0] == 200 for _, answers in queued)
    assert "over" not in model.ran
    assert len(model.ran) == MMS_QUEUE + 1


def test_a_burst_past_max_concurrency_gets_answers_and_no_broken_connections(
    scripted: Scripted,
) -> None:
    outcomes: list[Any] = []

    def client(index: int) -> None:
        try:
            status, headers, _ = scripted.invoke(f"burst-{index}", sleep=0.01)
            outcomes.append((status, headers.get("x-amzn-errortype")))
        except OSError as error:
            outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=client, args=(index,)) for index in range(200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(outcomes) == 200
    assert set(outcomes) <= {(200, None), (400, "ThrottlingException")}
    assert outcomes.count((200, None)) == len(scripted.model.ran) >= 2


def test_idle_and_half_sent_connections_do_not_hold_up_others(scripted: Scripted) -> None:
    idle = [socket.create_connection(("127.0.0.1", scripted.port)) for _ in range(50)]
    for sock in idle[:25]:
        sock.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\n")  # and never the rest
    try:
        started = time.monotonic()
        assert http_request(scripted.port, "GET", "/ping", timeout=5)[0] == 200
        assert scripted.invoke("meanwhile")[0] == 200
        assert time.monotonic() - started < 2
    finally:
        for sock in idle:
            sock.close()


def test_a_request_uvicorn_cannot_parse_gets_a_400_and_others_go_on(scripted: Scripted) -> None:
    answer = raw_exchange(
        scripted.port, b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 10
    )

    assert answer.startswith(b"HTTP/1.1 400 ")
    assert scripted.invoke("after")[0] == 200


def control_plane(port: int) -> Any:
    return boto3.client(
        "sagemaker",
        region_name="us-east-1",
        endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_describe_calls_answer_for_the_endpoint_it_serves() -> None:
    options = ServeOptions("my/model", "feature-extraction", endpoint_name="e", serverless=True)
    with serving_in_thread(options, scripted_container(ScriptedModel())) as (_, port):
        client = control_plane(port)
        endpoint = client.describe_endpoint(EndpointName="e")
        config = client.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
        model = client.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
        with pytest.raises(ClientError) as other:
            client.describe_endpoint(EndpointName="other")
        with pytest.raises(ClientError) as other_model:
            client.describe_model(ModelName="other-model")

    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["EndpointArn"] == "arn:aws:sagemaker:local:000000000000:endpoint/e"
    assert config["ProductionVariants"][0]["ServerlessConfig"] == {
        "MemorySizeInMB": 3072,
        "MaxConcurrency": 4,
    }
    assert model["PrimaryContainer"]["Environment"] == {
        "HF_MODEL_ID": "my/model",
        "HF_TASK": "feature-extraction",
    }
    for refused, message in ((other, 'endpoint "other"'), (other_model, 'model "other-model"')):
        error: Any = refused.value.response["Error"]
        assert (error["Code"], error["Message"]) == (
            "ValidationException",
            f"Could not find {message}.",
        )


def test_an_unknown_endpoint_name_is_sagemakers_not_found() -> None:
    options = ServeOptions("m", "t", endpoint_name="e")
    with serving_in_thread(options, scripted_container(ScriptedModel())) as (_, port):
        status, headers, body = http_request(
            port, "POST", "/endpoints/other/invocations", b"{}", JSON
        )

    assert (status, headers["x-amzn-errortype"]) == (400, "ValidationError")
    assert json.loads(body)["message"] == "Endpoint other of account 000000000000 not found."


@pytest.mark.parametrize("path", ["/", "/invocations", "/endpoints/scripted/invocations"])
def test_a_body_nested_past_pythons_recursion_limit_is_a_clear_refusal(
    scripted: Scripted, path: str
) -> None:
    nested = b"[" * 100_000 + b"]" * 100_000
    headers = {**JSON, "X-Amz-Target": "SageMaker.DescribeEndpoint"}

    status, _, body = http_request(scripted.port, "POST", path, nested, headers)

    assert status in (400, 424)
    assert "message" in json.loads(body)
    assert http_request(scripted.port, "GET", "/ping")[0] == 200
