"""What runs in, or describes, the SageMaker container, read by the component (which ships or
configures it) and the local endpoint (which runs it), neither importing the other:
`inference.py`, the sentence-embedding handler, and `tei.py`, TEI's images, variables, limits."""

from pathlib import Path
from typing import Final

INFERENCE_SCRIPT: Final = Path(__file__).with_name("inference.py")
MODEL_DIR: Final = "/opt/ml/model"
"""Where SageMaker unpacks the model archive, and where the containers look for a model."""
