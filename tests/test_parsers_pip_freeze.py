"""Installed-package listings: `pip freeze`, `pip list` (table and
--format=freeze), `uv pip freeze` / `uv pip list`, with the line kinds pip
really prints (direct references, editables, comments, warnings)."""

from __future__ import annotations

import pytest

from csm_doctor.parsers.pip_freeze import (
    is_freeze_line,
    is_list_header,
    looks_like_pip_freeze,
    parse_pip_freeze,
    parse_requirement_line,
)

FREEZE = """\
WARNING: Ignoring invalid distribution -orch (c:\\users\\bob\\venv\\lib\\site-packages)
absl-py==2.1.0
Huggingface_Hub==0.24.5
moshi @ git+https://github.com/kyutai-labs/moshi.git@1ae3ce3#subdirectory=moshi
# Editable install with no version control (csm==0.1.0)
-e /home/bob/csm
-e git+https://github.com/SesameAILabs/csm.git@2d720827#egg=silentcipher
torch @ https://download.pytorch.org/whl/cu124/torch-2.4.0%2Bcu124-cp310-cp310-linux_x86_64.whl
torchaudio @ file:///C:/Users/Bob/wheels/torchaudio-2.4.0%2Bcu124-cp310-cp310-win_amd64.whl
triton-windows==3.1.0.post17
zipp===3.19.2
[notice] A new release of pip is available: 23.2.1 -> 24.2
"""


def test_pip_freeze():
    assert parse_pip_freeze(FREEZE) == {
        "absl-py": "2.1.0",
        "huggingface-hub": "0.24.5",  # PEP 503 canonical
        "csm": "0.1.0",  # from pip's editable comment
        "torch": "2.4.0+cu124",  # from the wheel name in the URL
        "torchaudio": "2.4.0+cu124",
        "triton-windows": "3.1.0.post17",
        "zipp": "3.19.2",
    }
    assert looks_like_pip_freeze(FREEZE)


@pytest.mark.parametrize("line", [
    "moshi @ git+https://github.com/kyutai-labs/moshi.git@1ae3ce3",
    "-e git+https://github.com/SesameAILabs/csm.git@2d720827#egg=csm",
    "-e /home/bob/csm",
    "pkg @ file:///tmp/other-1.0-py3-none-any.whl",  # wheel of another project
])
def test_direct_references_without_a_version_are_skipped(line):
    assert is_freeze_line(line)
    assert parse_requirement_line(line) is None
    assert parse_pip_freeze(line) == {}


PIP_LIST = """\
Package                  Version      Editable project location
------------------------ ------------ -------------------------
certifi                  2024.7.4
csm                      0.1.0        C:\\Users\\bob\\src\\csm
Huggingface-Hub          0.24.5
torch                    2.4.0+cu124
"""

UV_PIP_LIST = """\
Using Python 3.10.14 environment at: .venv
Package            Version
------------------ -----------
moshi              0.2.4
silentcipher       1.0.1
torch              2.4.0
"""


@pytest.mark.parametrize("text, expected", [
    (PIP_LIST, {"certifi": "2024.7.4", "csm": "0.1.0", "huggingface-hub": "0.24.5", "torch": "2.4.0+cu124"}),
    (UV_PIP_LIST, {"moshi": "0.2.4", "silentcipher": "1.0.1", "torch": "2.4.0"}),
])
def test_list_tables(text, expected):
    assert parse_pip_freeze(text) == expected
    assert parse_pip_freeze(text.replace("\n", "\r\n")) == expected
    assert looks_like_pip_freeze(text)
    assert is_list_header(text.split("\n")[0]) or is_list_header(text.split("\n")[1])


def test_list_table_ends_at_the_first_non_row():
    text = PIP_LIST + "\nWARNING: You are using pip version 23.2.1\nThen I ran 3 more steps\n"
    assert set(parse_pip_freeze(text)) == {"certifi", "csm", "huggingface-hub", "torch"}


def test_first_version_wins_and_noise_is_ignored():
    text = "$ pip freeze | grep torch\ntorch==2.4.0\nI also tried torch==2.5.0 later\ntorch==2.6.0\n"
    assert parse_pip_freeze(text) == {"torch": "2.4.0"}


@pytest.mark.parametrize("text", ["", "Requirement already satisfied: torch in ./venv", "torch>=2.4",
                                  "pip install torch==2.4.0", "Package Version", "==1.0", "a== "])
def test_not_a_listing(text):
    assert parse_pip_freeze(text) == {}
    assert not looks_like_pip_freeze(text)
