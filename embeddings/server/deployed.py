"""container/, the code the deployed container runs (the handler) or is configured by (TEI's
settings), as the local endpoint runs and reads it. A clone has it as the top-level `container`;
the wheel carries the same files as `embeddings._container`, so that installing the local endpoint
puts no `container` in an app's site-packages over the app's own. The installed copy wins."""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

__all__ = ["INFERENCE_SCRIPT", "inference", "tei"]

if TYPE_CHECKING:
    from container import INFERENCE_SCRIPT, inference, tei
else:
    _PACKAGE = "embeddings._container"
    if importlib.util.find_spec(_PACKAGE) is None:
        _PACKAGE = "container"
    INFERENCE_SCRIPT = importlib.import_module(_PACKAGE).INFERENCE_SCRIPT
    tei = importlib.import_module(f"{_PACKAGE}.tei")

    def __getattr__(name: str) -> Any:
        """`inference` when first used: it imports torch, which the HTTP layer does not need."""
        if name == "inference":
            return importlib.import_module(f"{_PACKAGE}.inference")
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
