"""The smoke PNG is a real image: valid chunks, the right size, the pixels where they belong."""

from __future__ import annotations

import base64
import math
import struct
import zlib

from csm_doctor.smoke.plot import (
    GLYPHS,
    LEFT,
    TOP,
    WAVE,
    ramp_table,
    render_png,
    tick_step,
)


def plot_data(cols: int = 200, rows: int = 64) -> dict:
    envelope = [[-0.5 * abs(math.sin(i / 10)), 0.5 * abs(math.sin(i / 10))] for i in range(cols)]
    spectrogram = bytes((x + y) % 256 for y in range(rows) for x in range(cols))
    return {"columns": cols, "envelope": envelope, "spec_height": rows, "nyquist_hz": 12000.0,
            "spectrogram_b64": base64.b64encode(spectrogram).decode()}


def decode_png(data: bytes) -> tuple[int, int, bytes]:
    """Walk the chunks (checking every CRC) and return width, height and the raw scanlines."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert (depth, colour) == (8, 2)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    return width, height, zlib.decompress(idat)


def pixel(raw: bytes, width: int, x: int, y: int) -> tuple[int, ...]:
    start = y * (1 + 3 * width) + 1 + 3 * x
    return tuple(raw[start:start + 3])


def test_the_png_decodes_to_the_expected_raster() -> None:
    width, height, raw = decode_png(render_png(plot_data(), seconds=2.0))
    assert width == LEFT + 200 + 12
    assert len(raw) == height * (1 + 3 * width)
    # the waveform is drawn at the middle of its panel, in its colour
    assert pixel(raw, width, LEFT + 15, TOP + 70) == WAVE


def test_the_spectrogram_uses_the_colour_ramp() -> None:
    data = plot_data(cols=50, rows=20)
    width, height, raw = decode_png(render_png(data, seconds=1.0))
    table = ramp_table()
    spec_top = height - 22 - 20
    assert bytes(pixel(raw, width, LEFT + 3, spec_top)) == table[3]


def test_audio_too_short_for_a_spectrogram_still_draws_the_waveform() -> None:
    data = {"columns": 10, "envelope": [[-0.1, 0.1]] * 10, "spec_height": 0, "spectrogram_b64": None}
    width, height, _ = decode_png(render_png(data, seconds=0.01))
    assert (width, height) == (LEFT + 10 + 12, TOP + 140 + 22)


def test_ticks_and_labels() -> None:
    assert tick_step(2.0, 8) == 0.5 and tick_step(10.0, 8) == 2 and tick_step(0.3, 8) == 0.1
    assert all(len(rows) == 7 and all(0 <= r < 32 for r in rows) for rows in GLYPHS.values())
    assert len(ramp_table()) == 256
