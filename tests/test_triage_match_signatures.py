"""The signature data: valid, linear-time, documented; the `explains` relation valid and acyclic.

Speed is measured in benchmarks/bench_triage_match.py; here the regexes are
checked for the shapes that make a backtracking engine slow (nested or leading
unbounded repetition, repetition that runs across lines), and adversarial
pastes are fed through to show they finish.
"""

from __future__ import annotations


import pytest
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csm_doctor.catalogue import Catalogue, Diagnosis, load_catalogue, shipped_catalogue
from csm_doctor.errors import InputError
from csm_doctor.triage.match import (
    FLAGS,
    compile_signatures,
    match_text,
    recognised_markdown,
    signature_flags,
)

try:
    import re._parser as sre_parse  # Python 3.11+
    from re._constants import MAXREPEAT  # noqa: F401
except ImportError:  # Python 3.10
    import sre_parse  # type: ignore[no-redef]

SIGNATURES = [(diagnosis.id, source) for diagnosis in shipped_catalogue().diagnoses.values()
              for source in diagnosis.signatures]
REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}


def _walk(items, depth=0):
    """(op name, argument, repeat nesting depth) for every node of a parsed pattern."""
    for op, arg in items:
        name = str(op)
        yield name, arg, depth
        if name in REPEATS:
            yield from _walk(arg[2], depth + (1 if arg[1] > 1 else 0))
        elif name == "SUBPATTERN":
            yield from _walk(arg[-1], depth)
        elif name == "BRANCH":
            for branch in arg[1]:
                yield from _walk(branch, depth)
        elif name in ("ASSERT", "ASSERT_NOT"):
            yield from _walk(arg[1], depth)


def _matches_newline(item) -> bool:
    """Whether a repeated single item (., [..], \\s, [^x]) can match a line break."""
    op, arg = item
    name = str(op)
    if name == "ANY":
        return False  # no DOTALL
    if name == "NOT_LITERAL":
        return arg != 10
    if name == "IN":
        negate = any(str(o) == "NEGATE" for o, _ in arg)
        members = [(str(o), a) for o, a in arg if str(o) != "NEGATE"]
        has_newline = any((o == "LITERAL" and a == 10) or
                          (o == "RANGE" and a[0] <= 10 <= a[1]) or
                          (o == "CATEGORY" and str(a) in ("CATEGORY_SPACE", "CATEGORY_NOT_DIGIT",
                                                          "CATEGORY_NOT_WORD"))
                          for o, a in members)
        return not has_newline if negate else has_newline
    return False


@pytest.mark.parametrize("name,source", SIGNATURES, ids=[f"{n}:{s[:30]}" for n, s in SIGNATURES])
def test_signature_is_linear_time(name: str, source: str):
    assert signature_flags(source) <= set(FLAGS), f"{name}: unknown marker"
    parsed = list(sre_parse.parse(source))
    nodes = list(_walk(parsed))
    unbounded = [(n, a, d) for n, a, d in nodes if n in REPEATS and a[1] > 1]
    assert not [1 for _, _, depth in unbounded if depth > 0], f"{name}: nested repetition in {source!r}"
    leading = [(str(op), arg) for op, arg in parsed if str(op) not in ("ASSERT", "ASSERT_NOT", "AT")]
    assert leading and str(leading[0][0]) not in REPEATS, f"{name}: starts with a repetition"
    for _, arg, _ in unbounded:
        body = list(arg[2])
        if len(body) == 1 and arg[1] > 1000:
            assert not _matches_newline(body[0]), f"{name}: an unbounded run can cross lines: {source!r}"


ADVERSARIAL = [
    "401 Client Error: Unauthorized for url: " + "a" * 200_000,
    "No such file or directory: 'C:\\\\" + "x" * 200_000,
    ("Traceback (most recent call last):\n" + "  File \"/x.py\", line 1, in <module>\n") * 5_000,
    "torch_npu" + " " * 200_000 + ".so: undefined symbol",
    "\n".join(["ESC[1;36m" * 50] * 2_000),
    "a" * 1_000_000,
]


@pytest.mark.parametrize("text", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_adversarial_pastes_finish(text: str):
    match_text(text)  # a catastrophic regex would hang here; the benchmark measures the speed


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from([s for _, s in SIGNATURES] + ["\n", "\r\n", "\x1b[31m", " ", "'",
                                                              "C:\\Users\\x", "torch==2.4.0"]),
                max_size=30).map("".join) | st.text(max_size=2000))
def test_matching_never_raises(text: str):
    """Signature sources themselves, glued together, and random text: always a list of findings."""
    from csm_doctor.triage.extract import extract_facts

    facts, sources = extract_facts(text)
    for finding in match_text(text, facts, sources):
        assert finding["status"] in ("fail", "warn")


def test_bad_signature_is_exit_2_naming_the_diagnosis():
    broken = Diagnosis("cuda-oom", "nvidia", "c", "f", signatures=("CUDA (out of memory",),
                       where="30-nvidia.yaml:7")
    with pytest.raises(InputError) as caught:
        compile_signatures(Catalogue(diagnoses={"cuda-oom": broken}))
    assert "diagnoses.cuda-oom.signatures[0] (30-nvidia.yaml:7)" in str(caught.value)
    assert "not a valid regex" in str(caught.value)
    marked = Catalogue(diagnoses={"cuda-oom": Diagnosis("cuda-oom", "nvidia", "c", "f",
                                                        signatures=("(?#certainly)OOM",))})
    with pytest.raises(InputError, match="unknown marker"):
        compile_signatures(marked)


def test_shipped_causes_are_known_ids_without_loops():
    causes = shipped_catalogue().causes
    assert causes["hf-token-invalid"] >= {"hf-token-missing", "hf-gated-no-access"}  # transitive
    assert all(root not in explained for root, explained in causes.items())


def test_docs_list_matches_the_catalogue():
    page = (ROOT / "docs" / "triage.md").read_text(encoding="utf-8")
    start, end = "<!-- recognised:start -->\n", "<!-- recognised:end -->"
    generated = page.split(start, 1)[1].split(end, 1)[0]
    assert generated == recognised_markdown(), \
        "regenerate the list in docs/triage.md (the command is in the page)"


def test_problems_recognised_in_logs_only_are_not_checks():
    """A crash message cannot be probed: check lists no row for it (no "recognised in logs" skip)."""
    from csm_doctor.evaluate import evaluate
    from csm_doctor.facts import empty_facts
    from csm_doctor.recipe import load_recipe

    catalogue = load_catalogue()
    findings = evaluate(empty_facts(), load_recipe("csm-1b"), catalogue)
    assert not [f for f in findings if "recognised in logs only" in f.title]
    log_only = {d.id for d in catalogue.diagnoses.values() if d.signatures} - {c.id for c in catalogue.checks}
    assert {"cuda-oom", "torch-compile-unsupported"} <= log_only
    assert not log_only & {f.id for f in findings}


def test_literal_prefixes_of_patterns():
    from csm_doctor.triage.match import literal_prefixes

    assert literal_prefixes("No module named '(?P<subject>[A-Za-z_]\\w*)") == ("No module named '",)
    assert literal_prefixes("[Pp]ynini ?(?:x|y)") == ("Pynini", "pynini")
    assert literal_prefixes("(?:huggingface\\.co|hf\\.co)/") == ("hf.co", "huggingface.co")
    assert literal_prefixes("(?#likely)\\bfoo_bar") == ("foo_bar",)
    assert literal_prefixes("a|bcd") is None and literal_prefixes("(?i:abcdef)") is None
    assert literal_prefixes("\\s*Error") is None


def test_the_prefix_filter_never_drops_a_match():
    """Every shipped signature that matches a corpus log has one of its prefixes in that log."""
    from csm_doctor.triage.match import shipped_matcher

    signatures, _ = shipped_matcher()
    texts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "tests" / "fixtures" / "logs").rglob("*.txt"))
             if not p.name.endswith(".source.txt")]
    for signature in signatures:
        if signature.prefixes:
            for text in texts:
                if signature.pattern.search(text):
                    assert any(p in text for p in signature.prefixes), signature.source
