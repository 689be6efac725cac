"""Audio loading (torchaudio, librosa, soundfile, scipy): a file read per item is as long as the recording.

``torchaudio.transforms.*`` are transforms that keep the time axis (a spectrogram of a longer clip is
longer): calling one on a waveform keeps its per-item length.
"""
from __future__ import annotations

from typing import Any

from .. import values as V

_FILE_LENGTH = "each audio file has its own length"


def _load(ip, qual, node, args, kwargs) -> Any:
    """``waveform, sample_rate = torchaudio.load(self.files[idx])``."""
    if not (args and isinstance(args[0], V.PerItem)):
        return None
    channels_first = qual.startswith("torchaudio")
    shape = (None, V.Varies(_FILE_LENGTH)) if channels_first else (V.Varies(_FILE_LENGTH),)
    wave = V.Tensor(dtype="float", shape=shape, origin=node)
    return V.Seq((None, wave)) if qual.endswith("wavfile.read") else V.Seq((wave, None))


def _transform(ip, qual, node, args, kwargs) -> Any:
    name = qual.rsplit(".", 1)[-1]
    return V.Transform(False) if name[:1].isupper() else None


CALLS = dict.fromkeys(("torchaudio.load", "librosa.load", "librosa.core.load", "soundfile.read",
                       "scipy.io.wavfile.read"), _load)
PREFIXES = {"torchaudio.transforms": _transform}
