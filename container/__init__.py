"""What runs in, or describes, the SageMaker container, read by both sides without either
importing the other: the component (`components/`) ships it or configures the container from
it, and the local endpoint (`embeddings/server/`) runs it.

- `inference.py`: the opt-in sentence-embedding handler for the HuggingFace inference image,
  shipped as-is as `code/inference.py` (Python 3.9, torch 1.13, transformers 4.26 there).
- `tei.py`: Text Embeddings Inference's images, the variables it reads and its limits.
"""

from pathlib import Path
from typing import Final

INFERENCE_SCRIPT: Final = Path(__file__).with_name("inference.py")
