"""User code for the SageMaker HuggingFace container; `inference.py` is shipped as-is."""

from pathlib import Path
from typing import Final

INFERENCE_SCRIPT: Final = Path(__file__).with_name("inference.py")
