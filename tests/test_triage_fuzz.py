"""Property tests: no pasted text makes extract_facts raise, and whatever it
returns is a valid facts document with well-formed sources.

Like the parser fuzz tests, these call the undecorated function
(`__wrapped__`) so the never_raise net cannot hide a real bug. Besides random
and format-shaped text, they build pastes the way users do: several captured
outputs, cut and spliced, between noise lines, with CRLF, colours and quote
markers.
"""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from test_parsers_fuzz import FIXTURE_TEXTS, FUZZ, TABLE_ALPHABET, mutated_fixture

from csm_doctor.facts import FACTS_SCHEMA, FACTS_SHAPE, empty_facts
from csm_doctor.triage.extract import extract_facts

NOISE = st.sampled_from([
    "", "```", "```console", "> ", "\x1b[31m", "\x1b[0m", "C:\\Users\\bob\\csm> python run_csm.py",
    "我的环境如下：", "以下は実行結果です。", "Traceback (most recent call last):", "$ nvidia-smi -q -x",
    "<details><summary>env</summary>", "    ", "\t", "torch==2.4.0+cu124", "Package Version", "-----",
])


@st.composite
def paste(draw: st.DrawFn) -> str:
    """Captured outputs (whole or mutated) between noise lines, with per-paste line endings and quoting."""
    parts = []
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        parts.append(draw(st.lists(NOISE, max_size=3).map("\n".join)))
        parts.append(draw(st.one_of(st.sampled_from(FIXTURE_TEXTS), mutated_fixture())))
    text = "\n".join(parts)
    if draw(st.booleans()):
        text = "\n".join("> " + line for line in text.split("\n"))
    return text.replace("\n", draw(st.sampled_from(["\n", "\r\n", "\r"])))


def check(text: str) -> None:
    facts, sources = extract_facts.__wrapped__(text)
    problems: list = []
    FACTS_SHAPE.check(facts, (), problems)
    assert problems == []
    assert facts["schema"] == FACTS_SCHEMA and set(empty_facts()) <= set(facts)
    lines = len(re.split(r"\r\n|\r|\n", text))  # extract_facts counts lines this way
    previous = 0
    for source in sources:  # in order, not overlapping, inside the text
        assert set(source) == {"kind", "line", "lines"}
        assert source["line"] > previous and source["lines"] >= 1
        previous = source["line"] + source["lines"] - 1
        assert previous <= lines


@FUZZ
@given(text=st.text(max_size=3000))
def test_random_text(text):
    check(text)


@FUZZ
@given(text=st.lists(TABLE_ALPHABET, max_size=400).map("".join))
def test_format_shaped_text(text):
    check(text)


@FUZZ
@given(text=paste())
def test_pastes_of_captured_outputs(text):
    check(text)
