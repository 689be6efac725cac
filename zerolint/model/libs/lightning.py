"""PyTorch Lightning: LightningModule subclasses are modules; ``self.manual_backward(loss)`` backpropagates."""
from __future__ import annotations

from .tensor import backward

METHODS = {"manual_backward": backward}
MODULE_BASES = {"LightningModule": "torch"}
