"""WAV headers of real files: PCM through `wave`, float/extensible/RF64 through the RIFF walk."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_lint_support import riff_wav, write_wav

from csm_doctor.lint.audio import WavError, read_wav_info


@pytest.mark.parametrize(("rate", "channels", "seconds"),
                         [(24000, 1, 1.0), (16000, 1, 0.25), (24000, 2, 0.5), (44100, 2, 12.0)])
def test_pcm_wavs_through_wave(tmp_path, rate, channels, seconds):
    info = read_wav_info(write_wav(tmp_path / "a.wav", rate=rate, channels=channels,
                                   seconds=seconds))
    assert (info.sample_rate, info.channels, info.format, info.bits) == (rate, channels, "pcm", 16)
    assert info.seconds == pytest.approx(seconds, abs=1e-3)


def test_float_wav_is_read_from_its_riff_header(tmp_path):
    info = read_wav_info(riff_wav(tmp_path / "f.wav", tag=3, rate=48000, channels=2))
    assert (info.format, info.sample_rate, info.channels, info.bits) == ("float", 48000, 2, 32)
    assert info.seconds == pytest.approx(0.5)


@pytest.mark.parametrize(("subformat", "name"), [(1, "extensible-pcm"), (3, "extensible-float")])
def test_wave_format_extensible(tmp_path, subformat, name):
    path = riff_wav(tmp_path / "x.wav", tag=0xFFFE, subformat=subformat, bits=32, channels=1)
    info = read_wav_info(path)
    assert info.channels == 1 and info.sample_rate == 24000
    assert info.seconds == pytest.approx(0.5)
    assert info.format in (name, "pcm")  # Python >= 3.12's wave reads extensible PCM itself


def test_rf64_size_comes_from_ds64(tmp_path):
    info = read_wav_info(riff_wav(tmp_path / "r.wav", tag=1, bits=16, rf64=True, seconds=2.0))
    assert info.seconds == pytest.approx(2.0)


def test_streaming_placeholder_size_is_measured(tmp_path):
    """A writer that never fixed up the data size (0xFFFFFFFF): length from the file size."""
    info = read_wav_info(riff_wav(tmp_path / "s.wav", tag=1, bits=16, seconds=1.0,
                                  data_size=0xFFFFFFFF))
    assert info.seconds == pytest.approx(1.0)


def test_truncated_data_is_measured(tmp_path):
    path = write_wav(tmp_path / "t.wav", seconds=1.0)
    path.write_bytes(path.read_bytes()[:44 + 24000])  # half the frames
    assert read_wav_info(path).seconds == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize("content", [b"", b"ID3\x04mp3 data", b"RIFF\x10\x00\x00\x00WAVEjunk",
                                     b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00" + b"\0" * 16])
def test_not_a_wav_is_a_wav_error(tmp_path, content):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(WavError):
        read_wav_info(path)


def test_missing_file_is_a_wav_error(tmp_path):
    with pytest.raises(WavError):
        read_wav_info(tmp_path / "nope.wav")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(head=st.sampled_from([b"RIFF", b"RF64", b"RIFX", b""]), body=st.binary(max_size=200))
def test_any_bytes_give_info_or_wav_error(tmp_path, head, body):
    path = tmp_path / "fuzz.wav"
    path.write_bytes(head + b"\x00\x01\x00\x00WAVE" + body)
    try:
        info = read_wav_info(path)
    except WavError:
        return
    assert info.channels > 0 and info.sample_rate > 0 and info.frames >= 0
