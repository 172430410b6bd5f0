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


def test_the_title_says_what_ran_and_what_to_expect():
    from csm_doctor.smoke.plot import AXIS, INK, TITLE_LINE
    from csm_doctor.smoke.runner import plot_title

    payload = {"kind": "tiny", "device": {"type": "cpu"}, "dtype": "float32",
               "timings": {"generate": 0.5, "generate_runs": [0.6, 0.5, 0.4]}}
    title = plot_title(payload, seconds=2.0)
    assert title == ["tiny random CSM on cpu, float32, RTF 0.25 (median of 3)",
                     "random weights: noise is expected, not speech"]
    real = plot_title({**payload, "kind": "transformers", "model_id": "sesame/csm-1b"}, 2.0)
    assert real[0].startswith("sesame/csm-1b on cpu") and "clear speech" in real[1]

    plain_w, plain_h, _ = decode_png(render_png(plot_data(), seconds=2.0))
    width, height, raw = decode_png(render_png(plot_data(), seconds=2.0, title=title))
    band = height - plain_h
    assert width == plain_w and band == 6 + 2 * TITLE_LINE
    # The first glyph, "T", drawn at (4, 4): a full top bar, then only its stem.
    assert [pixel(raw, width, 4 + c, 4) for c in range(5)] == [INK] * 5
    assert pixel(raw, width, 6, 8) == INK and pixel(raw, width, 4, 8) != INK
    # The second line is the lighter note; the figure itself moved down by the band.
    second_line = [pixel(raw, width, x, y) for x in range(4, width - 4)
                   for y in range(4 + TITLE_LINE, 4 + TITLE_LINE + 7)]
    assert AXIS in second_line and INK not in second_line
    assert pixel(raw, width, LEFT + 1, band + TOP + 1) != (255, 255, 255)


def test_every_title_character_has_a_glyph():
    from csm_doctor.smoke.runner import plot_title

    for kind in ("tiny", "random-weights", "official", "transformers"):
        for line in plot_title({"kind": kind, "model_id": "sesame/csm-1b", "dtype": "bfloat16",
                                "device": {"type": "cuda"}, "timings": {"generate": 1.0}}, 3.0):
            assert all(ch in GLYPHS for ch in line.upper()), line
