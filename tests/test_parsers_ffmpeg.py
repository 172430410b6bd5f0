"""ffmpeg -version parser against the Debian 12 capture and the first lines other
builds print (Homebrew, gyan.dev release and git, BtbN git, Arch, static)."""

from __future__ import annotations

import pytest
from conftest import load_capture as load

from csm_doctor.parsers.ffmpeg import looks_like_ffmpeg_version, parse_ffmpeg_version

DEBIAN = "debian12-bookworm-5.1.9-local-capture.txt"



def test_debian_fixture_key_facts():
    result = parse_ffmpeg_version(load("ffmpeg", DEBIAN))
    assert result["version"] == "5.1.9-0+deb12u1"
    assert result["release"] == "5.1.9"
    assert result["built_with"] == "gcc 12 (Debian 12.2.0-14+deb12u1)"
    flags = result["configuration"]
    for flag in ["--prefix=/usr", "--extra-version=0+deb12u1", "--toolchain=hardened", "--enable-shared",
                 "--enable-libopus", "--enable-libmp3lame", "--enable-libvorbis", "--enable-libsoxr"]:
        assert flag in flags
    assert flags[0] == "--prefix=/usr" and flags[-1] == "--enable-shared"
    assert all(flag.startswith("--") for flag in flags)
    assert result["libraries"] == {
        "libavutil": "57.28.100",
        "libavcodec": "59.37.100",
        "libavformat": "59.27.100",
        "libavdevice": "59.7.100",
        "libavfilter": "8.44.100",
        "libswscale": "6.7.100",
        "libswresample": "4.7.100",
        "libpostproc": "56.6.100",
    }
    assert looks_like_ffmpeg_version(load("ffmpeg", DEBIAN))


def test_debian_fixture_with_crlf_ansi_and_leading_log_text():
    text = load("ffmpeg", DEBIAN)
    pasted = "Checking ffmpeg...\r\n[stderr] \x1b[0;33m" + text.replace("\n", "\r\n") + "\r\nexit code 0\r\n"
    assert parse_ffmpeg_version(pasted) == parse_ffmpeg_version(text)


@pytest.mark.parametrize(
    "first_line, version, release",
    [
        ("ffmpeg version 6.1.1 Copyright (c) 2000-2023 the FFmpeg developers", "6.1.1", "6.1.1"),
        ("ffmpeg version 7.1-full_build-www.gyan.dev Copyright (c) 2000-2024 the FFmpeg developers",
         "7.1-full_build-www.gyan.dev", "7.1"),
        ("ffmpeg version 2024-01-01-git-abc123-full_build-www.gyan.dev Copyright (c) 2000-2024 the FFmpeg developers",
         "2024-01-01-git-abc123-full_build-www.gyan.dev", None),
        ("ffmpeg version N-113000-g1234abcd-20240101 Copyright (c) 2000-2024 the FFmpeg developers",
         "N-113000-g1234abcd-20240101", None),
        ("ffmpeg version n7.0.1 Copyright (c) 2000-2024 the FFmpeg developers", "n7.0.1", "7.0.1"),
        ("ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright (c) 2000-2021 the FFmpeg developers",
         "4.4.2-0ubuntu0.22.04.1", "4.4.2"),
        ("ffmpeg version 7.0.2-static https://johnvansickle.com/ffmpeg/  Copyright (c) 2000-2024 the FFmpeg developers",
         "7.0.2-static", "7.0.2"),
        ("ffprobe version 6.0 Copyright (c) 2007-2023 the FFmpeg developers", "6.0", "6.0"),
    ],
)
def test_first_line_variants(first_line, version, release):
    text = first_line + "\nbuilt with Apple clang version 15.0.0 (clang-1500.1.0.2.5)\n" \
        "configuration: --prefix=/opt/homebrew/Cellar/ffmpeg/6.1.1_2 --enable-shared --cc=clang\n" \
        "libavutil      58. 29.100 / 58. 29.100\n"
    result = parse_ffmpeg_version(text)
    assert (result["version"], result["release"]) == (version, release)
    assert result["built_with"] == "Apple clang version 15.0.0 (clang-1500.1.0.2.5)"
    assert result["configuration"] == ["--prefix=/opt/homebrew/Cellar/ffmpeg/6.1.1_2", "--enable-shared", "--cc=clang"]
    assert result["libraries"] == {"libavutil": "58.29.100"}
    assert looks_like_ffmpeg_version(text)


def test_quoted_configure_values_stay_one_flag():
    text = "ffmpeg version 6.0\nconfiguration: --extra-cflags='-I/opt/x -O2' --enable-gpl\n"
    assert parse_ffmpeg_version(text)["configuration"] == ["--extra-cflags=-I/opt/x -O2", "--enable-gpl"]


def test_truncated_output_keeps_what_is_there():
    text = load("ffmpeg", DEBIAN)
    cut = text[: text.index("libavformat")]
    result = parse_ffmpeg_version(cut)
    assert result["version"] == "5.1.9-0+deb12u1"
    assert set(result["libraries"]) == {"libavutil", "libavcodec"}
    # Cut inside the configuration line, on an unbalanced quote.
    result = parse_ffmpeg_version("ffmpeg version 6.0\nconfiguration: --enable-gpl --extra-cflags='-I/op")
    assert result["configuration"][0] == "--enable-gpl"


def test_not_ffmpeg_output():
    empty = {"version": None, "release": None, "built_with": None, "configuration": [], "libraries": {}}
    assert parse_ffmpeg_version("") == empty
    assert parse_ffmpeg_version("bash: ffmpeg: command not found") == empty
    assert not looks_like_ffmpeg_version("bash: ffmpeg: command not found")
    # Library lines without the version banner belong to something else.
    assert parse_ffmpeg_version("libavutil      57. 28.100 / 57. 28.100") == empty
