"""Video files: the frames of torchvision.io.read_video, cv2.VideoCapture and decord are uint8 pixels (0..255)."""
from __future__ import annotations

from typing import Any

from .. import values as V
from .tensor import BYTE_RANGE, byte_tensor


def _read_video(ip, qual, node, args, kwargs) -> Any:
    """torchvision.io.read_video(path): (video frames (T, H, W, C) uint8, audio, info)."""
    return V.Seq((byte_tensor(node), None, None))


def _open(ip, qual, node, args, kwargs) -> Any:
    return V.VideoReader(qual)


def _same_pixels(ip, qual, node, args, kwargs) -> Any:
    """cv2.resize / cv2.cvtColor / cv2.flip of a frame: still uint8 pixels."""
    frame = args[0] if args else None
    return byte_tensor(node) if isinstance(frame, V.Tensor) and frame.value_range == BYTE_RANGE else None


def _reader_method(ip, recv: V.VideoReader, recv_text, method, node, args, kwargs) -> Any:
    if method == "read":  # cap.read(): (ok, frame)
        return V.Seq((None, byte_tensor(node)))
    if method in ("get_batch", "next", "get_frame", "retrieve"):
        return byte_tensor(node) if method != "retrieve" else V.Seq((None, byte_tensor(node)))
    return None


def _frame(ip, base: V.VideoReader, node) -> Any:
    return byte_tensor(node)  # vr[i]: one decord frame


CALLS = {
    "torchvision.io.read_video": _read_video,
    **dict.fromkeys(("cv2.VideoCapture", "decord.VideoReader", "decord.video_reader.VideoReader"), _open),
    **dict.fromkeys(("cv2.resize", "cv2.cvtColor", "cv2.flip", "cv2.GaussianBlur"), _same_pixels),
}
RECEIVERS = {V.VideoReader: _reader_method}
SUBSCRIPTS = {V.VideoReader: _frame}
