"""uvicorn, adjusted for the local endpoint: its HTTP/1.1 protocol and its server.

- A deadline for a request's headers. uvicorn closes a keep-alive connection idle after a
  response, but not one that has sent nothing, or only part of its headers, since it opened:
  such connections would stay open for good. Here a connection must deliver a request's headers
  within `HEADER_TIMEOUT_SECONDS` of opening, and of each response (the app times the body).
- A request the HTTP parser refuses gets multi-model-server's JSON 400, not uvicorn's text.
- On the first SIGINT or SIGTERM the container is told to start nothing new, so requests still
  waiting for the model are answered at once rather than after their turn.

These hooks use uvicorn's protocol internals, so requirements-local.txt bounds its version to
the releases tested.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from embeddings.server.container import ModelContainer, mms_error

HEADER_TIMEOUT_SECONDS: Final = 10.0
INVALID_HTTP_MESSAGE: Final = mms_error(400, "BadRequestException", "Invalid HTTP message.").body
"""What multi-model-server answers to a request it cannot parse."""
STOP_MARGIN_SECONDS: Final = 2.0


class HeaderDeadlineProtocol(H11Protocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._headers_due: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._expect_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._headers_arrived()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        if self.cycle is not None and not self.cycle.response_complete:
            self._headers_arrived()

    def send_400_response(self, msg: str) -> None:
        body = INVALID_HTTP_MESSAGE
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        for event in (
            h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event))
        self.transport.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._expect_headers()

    def _expect_headers(self) -> None:
        self._headers_arrived()
        self._headers_due = self.loop.call_later(HEADER_TIMEOUT_SECONDS, self._give_up)

    def _headers_arrived(self) -> None:
        if self._headers_due is not None:
            self._headers_due.cancel()
            self._headers_due = None

    def _give_up(self) -> None:
        if self.cycle is None or self.cycle.response_complete:
            self.transport.close()


class StoppingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, container: ModelContainer) -> None:
        super().__init__(config)
        self.container = container

    def handle_exit(self, sig: int, frame: Any) -> None:
        if self.container.stop_deadline is None:
            # A prediction in progress is answered a little before uvicorn's drain ends, so
            # its caller hears that the endpoint is stopping instead of nothing.
            drain = self.config.timeout_graceful_shutdown or 0
            self.container.stop(grace_seconds=max(0.0, drain - STOP_MARGIN_SECONDS))
        super().handle_exit(sig, frame)
