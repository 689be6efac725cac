"""Images read from files (PIL, OpenCV, imageio, skimage): uint8 pixels in [0, 255] (`np.array(Image.open(p))`)."""
from __future__ import annotations

from typing import Any

from .tensor import byte_tensor


def _image(ip, qual, node, args, kwargs) -> Any:
    return byte_tensor(node)


CALLS = dict.fromkeys(("PIL.Image.open", "PIL.Image.fromarray", "PIL.Image.new", "cv2.imread", "imageio.imread",
                       "imageio.v2.imread", "imageio.v3.imread", "skimage.io.imread"), _image)
