"""WAV headers without loading audio: channels, rate and length of every training clip.

A dataset can hold tens of thousands of clips; decoding them would take longer than the
mistakes this finds are worth, so only headers are read. The stdlib `wave` module reads
plain PCM; float and WAVE_FORMAT_EXTENSIBLE files (which `wave` refuses before Python
3.12) and RF64 files are read by walking the RIFF chunks here, a few dozen bytes each.
"""

from __future__ import annotations

import os
import struct
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from csm_doctor.errors import InputError

FORMAT_NAMES = {1: "pcm", 3: "float", 6: "a-law", 7: "mu-law"}
_EXTENSIBLE = 0xFFFE
_MAX_CHUNKS = 256  # a header with more chunks than this before `data` is not a sane WAV


class WavError(Exception):
    """The file is not a WAV this module can read the header of."""


@dataclass(frozen=True)
class WavInfo:
    channels: int
    sample_rate: int
    frames: int
    bits: int
    format: str  # pcm, float, a-law, mu-law, extensible-pcm, extensible-float

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0


def read_wav_info(path: str | Path) -> WavInfo:
    """Header facts of one WAV file; raises WavError (never anything else) when unreadable."""
    path = Path(path)
    try:
        with _open(path) as handle, wave.open(handle, "rb") as reader:
            size = os.fstat(handle.fileno()).st_size
            info = WavInfo(reader.getnchannels(), reader.getframerate(), reader.getnframes(),
                           reader.getsampwidth() * 8, "pcm")
        block = info.channels * max(1, info.bits // 8)
        if info.sample_rate > 0 and info.frames * block <= size:
            return info
        # a streaming writer's placeholder size (0xFFFFFFFF) or a truncated file: measure it
    except OSError as exc:
        raise WavError(f"cannot read: {exc.strerror or exc}") from None
    except Exception:  # noqa: BLE001 - wave raises Error, EOFError, RuntimeError on odd headers
        pass  # float / extensible / RF64 / not a WAV: the RIFF walk says which
    return read_riff_header(path)


def _open(path: Path) -> BinaryIO:
    """The clip, if it is a regular file: a FIFO named x.wav must not hang the dataset lint."""
    from csm_doctor.safeio import open_regular

    try:
        return open_regular(path)
    except InputError as exc:
        raise WavError(exc.problems[0].message) from None


def read_riff_header(path: Path) -> WavInfo:
    """Walk the RIFF chunks up to `data`, reading only headers (RIFF and RF64)."""
    try:
        with _open(path) as handle:
            return _walk(handle, os.fstat(handle.fileno()).st_size)
    except OSError as exc:
        raise WavError(f"cannot read: {exc.strerror or exc}") from None
    except struct.error:
        raise WavError("the header is cut short") from None


def _walk(handle, file_size: int) -> WavInfo:
    head = handle.read(12)
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
        raise WavError("not a WAV file (no RIFF/WAVE header)")
    fmt: tuple[str, int, int, int, int] | None = None
    rf64_data_size: int | None = None
    for _ in range(_MAX_CHUNKS):
        header = handle.read(8)
        if len(header) < 8:
            break
        chunk_id, chunk_size = header[:4], struct.unpack("<I", header[4:])[0]
        start = handle.tell()
        if chunk_id == b"fmt ":
            fmt = _read_fmt(handle.read(min(chunk_size, 64)))
        elif chunk_id == b"ds64":
            body = handle.read(min(chunk_size, 28))
            rf64_data_size = struct.unpack("<Q", body[8:16])[0]
        elif chunk_id == b"data":
            if fmt is None:
                raise WavError("the data chunk comes before any fmt chunk")
            name, channels, rate, block_align, bits = fmt
            available = max(0, file_size - start)
            declared = rf64_data_size if chunk_size == 0xFFFFFFFF and rf64_data_size else chunk_size
            return WavInfo(channels, rate, min(declared, available) // block_align, bits, name)
        handle.seek(start + chunk_size + (chunk_size & 1))
    raise WavError("no data chunk" if fmt else "no fmt chunk")


def _read_fmt(body: bytes) -> tuple[str, int, int, int, int]:
    """(format name, channels, rate, block align, bits) from a fmt chunk's body."""
    if len(body) < 16:
        raise WavError("the fmt chunk is cut short")
    tag, channels, rate, _byte_rate, block_align, bits = struct.unpack("<HHIIHH", body[:16])
    if channels == 0 or block_align == 0 or rate == 0:
        raise WavError(f"the fmt chunk is invalid ({channels} channels, {rate} Hz, "
                       f"block align {block_align})")
    if tag == _EXTENSIBLE:
        # the real format is the first two bytes of the subformat GUID (offset 24)
        sub = struct.unpack("<H", body[24:26])[0] if len(body) >= 26 else None
        name = f"extensible-{FORMAT_NAMES[sub]}" if sub in FORMAT_NAMES else "extensible"
    else:
        name = FORMAT_NAMES.get(tag, f"format-{tag}")
    return name, channels, rate, block_align, bits
