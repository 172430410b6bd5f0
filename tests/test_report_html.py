"""report.html in a real browser: headless Chromium (Debian's `chromium`) renders the page,
its audio element loads the smoke's WAV, its picture decodes, and a screenshot shows the findings.

The page forbids itself every load (Content-Security-Policy `default-src 'none'`, data: media
only) and has no script. To ask the browser what the audio element loaded, the test adds one
script to a copy of the page and allows exactly that script by nonce; nothing else changes.
Skipped, saying why, only where no Chromium is installed (.ci/run installs it).
"""

from __future__ import annotations

import base64
import json
import math
import re
import shutil
import struct
import subprocess
import wave
import zlib
from pathlib import Path

import pytest
from conftest import FIXTURES

from csm_doctor.smoke.plot import render_png

READY = FIXTURES / "facts" / "h100-driver-550-csm-ready.json"
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)
FAIL_RED = (0xC6, 0x28, 0x28)  # the "fail" badge in report/html.py


def write_smoke(folder: Path) -> Path:
    """A smoke result as `smoke` leaves it: result.json beside a real WAV (1.5 s) and PNG."""
    folder.mkdir(parents=True)
    wav = folder / "smoke-tiny.wav"
    with wave.open(str(wav), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(24000)
        handle.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(i / 12)))
                                    for i in range(36000)))
    cols = 300
    plot = {"columns": cols, "envelope": [[-0.3, 0.3]] * cols, "spec_height": 32, "nyquist_hz": 12000.0,
            "spectrogram_b64": base64.b64encode(bytes(range(256)) * (cols * 32 // 256)).decode()}
    png = folder / "smoke-tiny.png"
    png.write_bytes(render_png(plot, 1.5, ["tiny random CSM on cpu, float32, RTF 0.20 (median of 3)"]))
    result = {"schema": "csm-doctor/smoke/1", "status": "pass", "model": "tiny", "device": "cpu",
              "device_reason": "cpu: no accelerator found, fp32", "audio_path": str(wav),
              "png_path": str(png), "sample_rate": 24000, "audio_seconds": 1.5, "rtf": 0.2,
              "load_seconds": 1.9, "generate_seconds": 0.3, "time_to_first_audio_seconds": 0.03,
              "peak_memory_mib": 402.0, "findings": []}
    path = folder / "result.json"
    path.write_text(json.dumps(result))
    return path


@pytest.fixture
def page(run_cli, tmp_path: Path) -> Path:
    smoke = write_smoke(tmp_path / "csm-doctor-smoke")
    out = tmp_path / "bundle"
    # csm-1b-ascend on an NVIDIA machine: failing findings with fixes to show.
    run = run_cli("report", "--facts", str(READY), "--recipe", "csm-1b-ascend", "--smoke-result",
                  str(smoke), "-o", str(out))
    assert run.code == 1, run.stderr
    return out / "report.html"


def test_the_page_is_self_contained(page: Path):
    text = page.read_text(encoding="utf-8")
    assert "<script" not in text.lower()
    assert "default-src 'none'" in text
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?!data:|#)""", text), "loads something"
    assert 'src="data:audio/wav;base64,' in text and 'src="data:image/png;base64,' in text


def chromium(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--mute-audio",
                           "--no-first-run", "--disable-extensions", *args],
                          capture_output=True, text=True, timeout=timeout)


pytestmark_browser = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed here "
                                        "(apt-get install chromium; .ci/run installs it)")


@pytestmark_browser
def test_chromium_renders_the_findings_and_loads_the_audio_and_the_picture(page: Path, tmp_path: Path):
    probe = tmp_path / "probe.html"
    text = page.read_text(encoding="utf-8")
    text = text.replace("default-src 'none';", "default-src 'none'; script-src 'nonce-csmtest';", 1)
    script = ("<script nonce=\"csmtest\">const a=document.getElementById('smoke-audio');"
              "const i=document.getElementById('smoke-plot');"
              "function done(){document.body.dataset.audio=String(a.duration);"
              "document.body.dataset.image=String(i.naturalWidth)+'x'+String(i.naturalHeight);}"
              "a.addEventListener('loadedmetadata',done);a.addEventListener('error',()=>"
              "{document.body.dataset.audio='error '+(a.error&&a.error.code);});"
              "if(a.readyState>=1)done();a.load();</script>")
    probe.write_text(text.replace("</main>", script + "</main>", 1), encoding="utf-8")
    run = chromium("--virtual-time-budget=10000", "--dump-dom", probe.as_uri())
    dom = run.stdout
    assert "<h1>csm-doctor report</h1>" in dom, run.stderr[-2000:]
    assert 'data-audio="1.5"' in dom, re.findall(r'<body[^>]*>', dom)
    assert 'data-image="' in dom and 'data-image="0x0"' not in dom
    rows = re.findall(r'<tr class="finding finding-(\w+)">', dom)
    assert "fail" in rows and rows[0] == "fail"  # failures first, as in check
    assert "npu-driver-missing" in dom or "gpu-missing" in dom or "torch" in dom


@pytestmark_browser
def test_a_screenshot_shows_the_failing_findings(page: Path, tmp_path: Path):
    shot = tmp_path / "shot.png"
    run = chromium(f"--screenshot={shot}", "--window-size=1200,900", "--hide-scrollbars",
                   page.as_uri())
    assert shot.is_file(), run.stderr[-2000:]
    width, height, pixels = decode_rgb(shot.read_bytes())
    assert (width, height) == (1200, 900)
    red = sum(1 for i in range(0, len(pixels), 3) if tuple(pixels[i:i + 3]) == FAIL_RED)
    assert red > 200, "no fail badge visible in the first screen"


def decode_rgb(data: bytes) -> tuple[int, int, bytes]:
    """An 8-bit RGB or RGBA PNG (as Chromium writes them) to RGB bytes, filters undone."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    channels = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * channels
    out, previous = bytearray(), bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up, corner = previous[x], previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 255
            elif kind == 2:
                line[x] = (line[x] + up) & 255
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        previous = line
        for x in range(0, stride, channels):
            out += line[x:x + 3]
    return width, height, bytes(out)
