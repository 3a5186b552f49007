"""SIGINT and SIGTERM stop the local endpoint cleanly."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import requests

from tests.embeddings.server.conftest import start_server


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_the_server_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    server = start_server(tmp_path)
    assert requests.post(f"{server.url}/invocations", json={"inputs": "hi"}, timeout=30).ok

    code = server.stop(sig)

    log = server.log()
    assert code == 0, log
    assert "Shutting down" in log
    assert log.rstrip().endswith(f"stopped on {sig.name}")
    assert "Traceback" not in log
    assert "listening on http://127.0.0.1:" in log
    assert "with the default handler" in log
