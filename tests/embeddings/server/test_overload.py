"""The front end's promises under load, with a scripted container in place of the model so
timings are exact: throttling past max concurrency, SageMaker's 60 s invocation timeout, work
nobody waits for any more never started, and stopping that answers the queue at once."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn

from embeddings.server import app as app_module
from embeddings.server.app import Endpoint, build_app
from embeddings.server.container import Container
from embeddings.server.handler import Handler
from embeddings.server.protocol import HeaderDeadlineProtocol


@dataclass
class ScriptedModel:
    """A container's transform that sleeps as each request says and notes what it ran."""

    ran: list[str] = field(default_factory=list)

    def transform(self, model: Any, data: Any, content_type: str | None, accept: str) -> str:
        request = json.loads(data)
        time.sleep(request.get("sleep", 0))
        self.ran.append(request["id"])
        return json.dumps([[0.5]])


@dataclass
class Serving:
    url_port: int
    endpoint: Endpoint
    model: ScriptedModel

    def invoke(self, request_id: str, sleep: float = 0, timeout: float = 30) -> Any:
        connection = http.client.HTTPConnection("127.0.0.1", self.url_port, timeout=timeout)
        try:
            connection.request(
                "POST",
                "/endpoints/scripted/invocations",
                body=json.dumps({"id": request_id, "sleep": sleep}),
                headers={"Content-Type": "application/json"},
            )
            response = connection.getresponse()
            return response.status, response.getheader("x-amzn-ErrorType"), response.read()
        finally:
            connection.close()

    def in_background(
        self, request_id: str, sleep: float = 0
    ) -> tuple[threading.Thread, list[Any]]:
        answers: list[Any] = []
        thread = threading.Thread(target=lambda: answers.append(self.invoke(request_id, sleep)))
        thread.start()
        return thread, answers


def wait_for(condition: Any, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


@pytest.fixture
def serving(monkeypatch: pytest.MonkeyPatch) -> Iterator[Serving]:
    monkeypatch.setattr(app_module, "INVOCATION_TIMEOUT_SECONDS", 1.0)
    model = ScriptedModel()
    container = Container(Handler(model_fn=lambda _: None, transform_fn=model.transform), "")
    endpoint = Endpoint(container, "scripted", "feature-extraction", max_concurrency=2)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        build_app(endpoint),
        host="127.0.0.1",
        port=port,
        http=HeaderDeadlineProtocol,
        lifespan="off",
        log_config=None,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run)
    thread.start()
    wait_for(lambda: server.started)
    yield Serving(port, endpoint, model)
    server.should_exit = True
    thread.join(timeout=30)


def test_past_max_concurrency_calls_are_throttled_as_sagemaker_throttles(
    serving: Serving,
) -> None:
    running = [serving.in_background(f"slow-{i}", sleep=0.4) for i in range(2)]
    wait_for(lambda: serving.endpoint.in_progress == 2)

    status, code, body = serving.invoke("third")

    assert (status, code, json.loads(body)) == (400, "ThrottlingException", {"message": None})
    for thread, answers in running:
        thread.join(timeout=10)
        assert answers[0][0] == 200
    assert serving.invoke("later")[0] == 200
    assert sorted(serving.model.ran[:2]) == ["slow-0", "slow-1"]
    assert serving.model.ran[2:] == ["later"]


def test_an_invocation_past_the_timeout_is_sagemakers_model_error(serving: Serving) -> None:
    started = time.monotonic()
    status, code, body = serving.invoke("slow", sleep=2.5)

    assert time.monotonic() - started < 2.0  # answered at the timeout, not when the model ends
    error = json.loads(body)
    assert (status, code, error["OriginalStatusCode"]) == (424, "ModelError", 0)
    assert error["OriginalMessage"] == app_module.TIMED_OUT_MESSAGE
    assert error["message"].startswith(
        'Received server error (0) from primary with message "Your invocation timed out'
    )


def test_a_call_that_timed_out_waiting_for_its_turn_is_never_run(serving: Serving) -> None:
    first, _ = serving.in_background("holds-the-model", sleep=2.5)
    wait_for(lambda: serving.endpoint.container.busy)

    status, code, _ = serving.invoke("waits-too-long")
    first.join(timeout=10)
    wait_for(lambda: not serving.endpoint.container.busy)  # its prediction runs on

    assert (status, code) == (424, "ModelError")
    assert serving.invoke("after")[0] == 200
    assert serving.model.ran == ["holds-the-model", "after"]


def test_a_call_whose_client_left_is_never_run(serving: Serving) -> None:
    first, _ = serving.in_background("holds-the-model", sleep=0.8)
    wait_for(lambda: serving.endpoint.container.busy)
    body = json.dumps({"id": "left", "sleep": 0}).encode()
    with socket.create_connection(("127.0.0.1", serving.url_port)) as gone:
        gone.sendall(
            b"POST /endpoints/scripted/invocations HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        wait_for(lambda: serving.endpoint.in_progress == 2)
    first.join(timeout=10)

    assert serving.invoke("after")[0] == 200
    assert serving.model.ran == ["holds-the-model", "after"]


def test_stopping_answers_the_waiting_calls_at_once(serving: Serving) -> None:
    first, first_answer = serving.in_background("running", sleep=0.9)
    wait_for(lambda: serving.endpoint.container.busy)
    waiting, waiting_answer = serving.in_background("waiting")
    wait_for(lambda: serving.endpoint.in_progress == 2)

    stopped = time.monotonic()
    serving.endpoint.container.stop(grace_seconds=5)
    waiting.join(timeout=10)
    answered = time.monotonic() - stopped
    first.join(timeout=10)

    assert answered < 0.5  # not after the running prediction
    status, code, body = waiting_answer[0]
    assert (status, code, json.loads(body)["OriginalStatusCode"]) == (424, "ModelError", 503)
    assert "the local endpoint is stopping" in json.loads(body)["OriginalMessage"]
    assert first_answer[0][0] == 200  # the one running finishes
    assert serving.model.ran == ["running"]


def test_calls_get_the_model_in_order_of_arrival(serving: Serving) -> None:
    serving.endpoint.max_concurrency = 8
    first, _ = serving.in_background("first", sleep=0.3)
    wait_for(lambda: serving.endpoint.container.busy)
    waiting = []
    container = serving.endpoint.container
    for index in range(6):
        waiting.append(serving.in_background(f"waiting-{index}", sleep=0.05)[0])
        wait_for(lambda count=index + 1: container.waiting == count)
    for thread in [first, *waiting]:
        thread.join(timeout=10)

    assert serving.model.ran == ["first"] + [f"waiting-{index}" for index in range(6)]
