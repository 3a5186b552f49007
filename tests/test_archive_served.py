"""A model archive, unpacked as SageMaker unpacks it into /opt/ml/model, served by the local
endpoint as any model directory, answers what sentence-transformers computes (README: check
an archive before deploying it)."""

from __future__ import annotations

import signal
import tarfile
from pathlib import Path
from typing import Any

import numpy as np

from components import EmbeddingEndpoint, EmbeddingEndpointArgs
from tests.conftest import StartPulumi, model_path
from tests.embeddings.server.conftest import answering, invoke_endpoint, launch
from tests.resource_types import BUCKET_OBJECT

TEXTS = ["vectorize me", "Pulumi deploys the endpoint.", "naïve café, 東京, emoji 🚀 " * 20]


def unpacked(pulumi_mocks: StartPulumi, folder: Path, **settings: Any) -> Path:
    """The archive the component uploads for these settings, unpacked into `folder`."""
    harness = pulumi_mocks()
    args = EmbeddingEndpointArgs(model_source="archive", model_id=model_path(), **settings)
    harness.run(lambda: EmbeddingEndpoint("vectors", args))
    with tarfile.open(harness.one(BUCKET_OBJECT).inputs["source"].path, mode="r:gz") as tar:
        tar.extractall(folder, filter="data")
    return folder


def test_unpacked_archives_serve_sentence_transformers_embeddings(
    pulumi_mocks: StartPulumi, tmp_path: Path, sentence_transformer: Any
) -> None:
    handler_model = unpacked(pulumi_mocks, tmp_path / "handler")
    tei_model = unpacked(pulumi_mocks, tmp_path / "tei", runtime="tei")
    assert (handler_model / "code" / "inference.py").is_file()
    assert not (tei_model / "code").exists()
    servers = [
        launch(tmp_path / "handler.log", "embeddings", "serve", "--model", str(handler_model)),
        launch(tmp_path / "tei.log", "embeddings", "serve", "--model", str(tei_model),
               "--runtime", "tei"),
    ]  # fmt: skip
    try:
        expected = sentence_transformer.encode(TEXTS, normalize_embeddings=True)
        for server in servers:
            vectors = np.asarray(invoke_endpoint(answering(server).url, {"inputs": TEXTS}))
            assert vectors.shape == (3, 384)
            cosines = np.sum(vectors * expected, axis=1) / np.linalg.norm(vectors, axis=1)
            assert cosines.min() >= 0.9999, (server.log_path, cosines)
    finally:
        for server in servers:
            assert server.stop(signal.SIGTERM) == 0, server.log()
