"""The smoke test's picture: waveform over spectrogram, as a PNG any image viewer opens.

Written with the standard library (zlib + struct) from the envelope and the
dB spectrogram the target computed, so neither the doctor nor the target
needs matplotlib. A 5x7 bitmap font labels the axes (seconds, kHz).
"""

from __future__ import annotations

import base64
import struct
import zlib
from pathlib import Path
from typing import Any

WAVE_HEIGHT = 140
LEFT, RIGHT, TOP, GAP, BOTTOM = 44, 12, 10, 10, 22
BACKGROUND = (255, 255, 255)
PANEL = (246, 247, 250)
AXIS = (150, 150, 160)
INK = (40, 40, 48)
WAVE = (31, 119, 180)
# A magma-like ramp, dark (quiet) to pale (loud).
RAMP = ((0, 0, 4), (80, 18, 123), (182, 54, 121), (251, 136, 97), (252, 253, 191))

GLYPHS = {  # 5 columns x 7 rows, most significant bit on the left
    "0": (14, 17, 19, 21, 25, 17, 14), "1": (4, 12, 4, 4, 4, 4, 14),
    "2": (14, 17, 1, 2, 4, 8, 31), "3": (31, 2, 4, 2, 1, 17, 14),
    "4": (2, 6, 10, 18, 31, 2, 2), "5": (31, 16, 30, 1, 1, 17, 14),
    "6": (6, 8, 16, 30, 17, 17, 14), "7": (31, 1, 2, 4, 8, 8, 8),
    "8": (14, 17, 17, 14, 17, 17, 14), "9": (14, 17, 17, 15, 1, 2, 12),
    ".": (0, 0, 0, 0, 0, 12, 12), "s": (0, 0, 14, 16, 14, 1, 30),
    "k": (16, 16, 18, 20, 24, 20, 18), "H": (17, 17, 17, 31, 17, 17, 17),
    "z": (0, 0, 31, 2, 4, 8, 31), "+": (0, 4, 4, 31, 4, 4, 0), "-": (0, 0, 0, 31, 0, 0, 0),
    " ": (0, 0, 0, 0, 0, 0, 0),
}
# Capitals for the title (HD44780-style 5x7); the title is drawn upper-case.
GLYPHS.update({
    "A": (14, 17, 17, 31, 17, 17, 17), "B": (30, 17, 17, 30, 17, 17, 30),
    "C": (14, 17, 16, 16, 16, 17, 14), "D": (28, 18, 17, 17, 17, 18, 28),
    "E": (31, 16, 16, 30, 16, 16, 31), "F": (31, 16, 16, 30, 16, 16, 16),
    "G": (14, 17, 16, 23, 17, 17, 15), "I": (14, 4, 4, 4, 4, 4, 14),
    "J": (7, 2, 2, 2, 2, 18, 12), "K": (17, 18, 20, 24, 20, 18, 17),
    "L": (16, 16, 16, 16, 16, 16, 31), "M": (17, 27, 21, 21, 17, 17, 17),
    "N": (17, 17, 25, 21, 19, 17, 17), "O": (14, 17, 17, 17, 17, 17, 14),
    "P": (30, 17, 17, 30, 16, 16, 16), "Q": (14, 17, 17, 17, 21, 18, 13),
    "R": (30, 17, 17, 30, 20, 18, 17), "S": (15, 16, 16, 14, 1, 1, 30),
    "T": (31, 4, 4, 4, 4, 4, 4), "U": (17, 17, 17, 17, 17, 17, 14),
    "V": (17, 17, 17, 17, 17, 10, 4), "W": (17, 17, 17, 21, 21, 21, 10),
    "X": (17, 17, 10, 4, 10, 17, 17), "Y": (17, 17, 17, 10, 4, 4, 4),
    "Z": (31, 1, 2, 4, 8, 16, 31), ":": (0, 12, 12, 0, 12, 12, 0),
    ",": (0, 0, 0, 0, 12, 4, 8), "(": (2, 4, 8, 8, 8, 4, 2), ")": (8, 4, 2, 2, 2, 4, 8),
    "/": (0, 1, 2, 4, 8, 16, 0), "=": (0, 0, 31, 0, 31, 0, 0), "?": (14, 17, 1, 2, 4, 0, 4),
    ";": (0, 12, 12, 0, 12, 4, 8), "_": (0, 0, 0, 0, 0, 0, 31), "!": (4, 4, 4, 4, 4, 0, 4),
})
TITLE_LINE = 11  # pixels per title line (7 rows of glyph + spacing)


class Canvas:
    """An RGB raster with the few drawing operations the plot needs."""

    def __init__(self, width: int, height: int, colour: tuple[int, int, int]) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(colour) * (width * height))

    def rect(self, x: int, y: int, w: int, h: int, colour: tuple[int, int, int]) -> None:
        row = bytes(colour) * max(0, w)
        for yy in range(max(0, y), min(self.height, y + h)):
            start = (yy * self.width + x) * 3
            self.pixels[start:start + len(row)] = row

    def vline(self, x: int, y0: int, y1: int, colour: tuple[int, int, int]) -> None:
        if y0 > y1:
            y0, y1 = y1, y0
        self.rect(x, y0, 1, y1 - y0 + 1, colour)

    def blit_row(self, x: int, y: int, rgb: bytes) -> None:
        start = (y * self.width + x) * 3
        self.pixels[start:start + len(rgb)] = rgb

    def text(self, x: int, y: int, label: str, colour: tuple[int, int, int]) -> None:
        for i, char in enumerate(label):
            for row, bits in enumerate(GLYPHS.get(char, GLYPHS[" "])):
                for col in range(5):
                    if bits & (16 >> col):
                        px, py = x + i * 6 + col, y + row
                        if 0 <= px < self.width and 0 <= py < self.height:
                            start = (py * self.width + px) * 3
                            self.pixels[start:start + 3] = bytes(colour)

    def png(self) -> bytes:
        stride = self.width * 3
        raw = b"".join(b"\x00" + bytes(self.pixels[y * stride:(y + 1) * stride])
                       for y in range(self.height))
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + \
            _chunk(b"IDAT", zlib.compress(raw, 6)) + _chunk(b"IEND", b"")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + \
        struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def ramp_table() -> list[bytes]:
    """256 colours interpolated along RAMP."""
    table = []
    for value in range(256):
        pos = value / 255 * (len(RAMP) - 1)
        low = min(int(pos), len(RAMP) - 2)
        frac = pos - low
        table.append(bytes(round(a + (b - a) * frac) for a, b in zip(RAMP[low], RAMP[low + 1], strict=True)))
    return table


def tick_step(span: float, most: int) -> float:
    for step in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300):
        if span / step <= most:
            return step
    return span


def render_png(data: dict[str, Any], seconds: float, title: list[str] | None = None) -> bytes:
    """The PNG for one smoke run's plot data (see target_smoke.plot_data), under its title
    (what ran where, its RTF, what to expect), drawn upper-case."""
    cols = int(data["columns"])
    spec_h = int(data.get("spec_height") or 0)
    spectrogram = base64.b64decode(data["spectrogram_b64"]) if data.get("spectrogram_b64") else b""
    width = LEFT + cols + RIGHT
    spec_top = TOP + WAVE_HEIGHT + GAP
    height = spec_top + spec_h + BOTTOM if spec_h else TOP + WAVE_HEIGHT + BOTTOM
    canvas = Canvas(width, height, BACKGROUND)
    _waveform(canvas, data["envelope"], cols)
    if spec_h and len(spectrogram) == spec_h * cols:
        _spectrogram(canvas, spectrogram, cols, spec_h, spec_top, float(data.get("nyquist_hz") or 12000))
    _time_axis(canvas, cols, seconds, height - BOTTOM)
    return with_title(canvas, title or []).png()


def with_title(canvas: Canvas, lines: list[str]) -> Canvas:
    """The figure with a band of title lines above it (cut to the figure's width)."""
    if not lines:
        return canvas
    band = 6 + TITLE_LINE * len(lines)
    out = Canvas(canvas.width, canvas.height + band, BACKGROUND)
    out.pixels[band * canvas.width * 3:] = canvas.pixels
    fits = max((canvas.width - 8) // 6, 1)
    for i, line in enumerate(lines):
        text = line.upper()
        text = text if len(text) <= fits else text[:fits - 2] + ".."
        out.text(4, 4 + i * TITLE_LINE, text, INK if i == 0 else AXIS)
    return out


def _waveform(canvas: Canvas, envelope: list[list[float]], cols: int) -> None:
    canvas.rect(LEFT, TOP, cols, WAVE_HEIGHT, PANEL)
    mid, half = TOP + WAVE_HEIGHT // 2, WAVE_HEIGHT // 2 - 2
    canvas.rect(LEFT, mid, cols, 1, AXIS)
    for x, (low, high) in enumerate(envelope[:cols]):
        y_high = mid - round(max(-1.0, min(1.0, high)) * half)
        y_low = mid - round(max(-1.0, min(1.0, low)) * half)
        canvas.vline(LEFT + x, y_high, y_low, WAVE)
    for label, y in (("+1", mid - half), ("0", mid), ("-1", mid + half)):
        canvas.text(LEFT - 6 - 6 * len(label), y - 3, label, INK)


def _spectrogram(canvas: Canvas, pixels: bytes, cols: int, rows: int, top: int, nyquist: float) -> None:
    table = ramp_table()
    for y in range(rows):
        line = pixels[y * cols:(y + 1) * cols]
        canvas.blit_row(LEFT, top + y, b"".join(table[v] for v in line))
    step = 4000 if nyquist >= 8000 else 1000
    for hz in range(0, int(nyquist) + 1, step):
        y = top + rows - 1 - round(hz / nyquist * (rows - 1))
        canvas.rect(LEFT - 3, y, 3, 1, INK)
        label = "0" if hz == 0 else f"{hz // 1000}kHz"
        canvas.text(LEFT - 5 - 6 * len(label), min(max(y - 3, top), top + rows - 7), label, INK)


def _time_axis(canvas: Canvas, cols: int, seconds: float, y: int) -> None:
    canvas.rect(LEFT, y, cols, 1, AXIS)
    if seconds <= 0:
        return
    step = tick_step(seconds, 8)
    tick = 0.0
    while tick <= seconds + 1e-9:
        x = LEFT + min(cols - 1, round(tick / seconds * (cols - 1)))
        canvas.rect(x, y, 1, 4, INK)
        label = f"{tick:g}s"
        canvas.text(min(max(x - 3 * len(label), 0), canvas.width - 6 * len(label)), y + 7, label, INK)
        tick = round(tick + step, 6)


def write_png(path: str | Path, data: dict[str, Any], seconds: float,
              title: list[str] | None = None) -> str:
    from csm_doctor.safeio import replace_file

    target = Path(path)
    replace_file(target, render_png(data, seconds, title))  # a link planted at PATH is not followed
    return str(target)
