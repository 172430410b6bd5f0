"""Name the known problems in a pasted log, root cause first.

Every diagnosis entry (diagnoses/*.yaml) carries the regexes that recognise
its problem in a log (`signatures`), beside the checks that judge it from
facts, so one entry serves `check` and `triage`. A signature may start with a regex comment naming its kind:

- (no marker): the message names the problem: a match is *certain*;
- ``(?#likely)``: a symptom several problems share: *likely*, and *certain*
  once a ``(?#context)`` line of the same id or the paste's facts agree;
- ``(?#needs-context)``: counts only next to such a context line (or facts);
- ``(?#context)``: never a problem on its own (a Windows path, `import
  torch_npu`): it settles the id's other matches;
- ``(?#fallback)``: a likely guess that counts only when nothing else in the
  paste is recognised (a traceback cut before its message, whose frames show
  `from_pretrained("sesame/csm-1b")`).

A named group ``(?P<subject>...)`` names what is affected (the missing module).
The entries' `explains` say which problem causes which: the root is listed first,
its consequences after it as ``warn`` with ``explained_by``, and a line that
matches both belongs to the root alone. Facts the paste shows (extract.py)
settle likely matches through the entry's `verdict` (triage/verdicts.py), and
flag (`facts_alone`) a known bad combination (an RTX 5090 with torch 2.4) even when no error text is pasted.

Speed: each signature is one ``finditer`` over the whole text (in C), every
line cut at MAX_LINE characters so no pattern can go quadratic on a huge
line; the shipped signatures are plain sequences without nested repetition
(tests/test_triage_match_signatures.py). A 1 MB paste takes well under a
second (benchmarks/bench_triage_match.py).
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from csm_doctor.catalogue import Catalogue, Diagnosis
from csm_doctor.errors import InputError, Problem
from csm_doctor.findings import Status, make_finding
from csm_doctor.parsers.textutil import normalize_text
from csm_doctor.triage.verdicts import VERDICTS

MAX_LINE = 4000  # characters of a line that are searched
MAX_HITS_PER_SIGNATURE = 200  # a `watch` log repeating one error adds nothing after this
MAX_EVIDENCE = 5  # lines shown per finding
EVIDENCE_WIDTH = 300
CONFIDENCE_RANK = {"certain": 0, "likely": 1}
FLAGS = ("likely", "context", "needs-context", "fallback")

_MARKER_RE = re.compile(r"\(\?#([a-z -]*)\)")
# Colour codes pasted as text: `less` shows ESC as "ESC", terminals copy "^[".
_LITERAL_ANSI_RE = re.compile(r"(?:ESC|\^\[)\[[0-9;]{0,20}[A-Za-z]")


@dataclass(frozen=True)
class Signature:
    """One compiled `signatures` entry of a diagnosis."""

    diagnosis: Diagnosis
    pattern: re.Pattern[str]
    flags: frozenset[str]
    source: str
    # Text one of which every match starts with (None: unknown): a paste holding
    # none of them is skipped with str.find, several times faster than the regex scan.
    prefixes: tuple[str, ...] | None = None

    @property
    def is_context(self) -> bool:
        return "context" in self.flags


@dataclass(frozen=True)
class Hit:
    """A line a signature matched: 1-based line number, the line, where in it."""

    line: int
    text: str
    column: int
    signature: Signature
    subject: str | None


@dataclass
class _Candidate:
    """Everything the paste says about one diagnosis id."""

    id: str
    direct: list[Hit] = field(default_factory=list)
    context: list[Hit] = field(default_factory=list)


# --------------------------------------------------------------------------- #
# Loading: signatures from the catalogue, the causes relation
# --------------------------------------------------------------------------- #


def signature_flags(source: str) -> frozenset[str]:
    """The kinds named in a signature's leading ``(?#...)`` comment."""
    marker = _MARKER_RE.match(source)
    return frozenset(marker.group(1).split()) if marker else frozenset()


def compile_signatures(catalogue: Catalogue) -> tuple[Signature, ...]:
    """Every signature of the catalogue, compiled; a bad one is exit 2 naming its diagnosis."""
    compiled, problems = [], []
    for diagnosis in catalogue.diagnoses.values():
        for index, source in enumerate(diagnosis.signatures):
            where = f"diagnoses.{diagnosis.id}.signatures[{index}] ({diagnosis.where})"
            flags = signature_flags(source)
            unknown = flags - set(FLAGS)
            try:
                pattern = re.compile(source, re.MULTILINE)
            except re.error as exc:
                problems.append(Problem(f"not a valid regex: {exc}", where))
                continue
            if unknown:
                problems.append(Problem(f"unknown marker {sorted(unknown)} (known: {', '.join(FLAGS)})",
                                        where))
                continue
            compiled.append(Signature(diagnosis, pattern, flags, source, literal_prefixes(source)))
    if problems:
        raise InputError("diagnoses/*.yaml", problems)
    return tuple(compiled)


_MIN_PREFIX = 3
_MAX_PREFIXES = 16


def literal_prefixes(source: str) -> tuple[str, ...] | None:
    """The literal texts a pattern's matches must start with, or None when it has no such prefix.

    'No module named (?P<x>...)' → ('No module named ',); '[Pp]ynini ?...' → ('Pynini', 'pynini');
    'a|bcd' → None (a one-character branch says nothing). Case-insensitive parts give None.
    """
    try:
        import re._parser as sre_parse  # Python 3.11+
    except ImportError:  # pragma: no cover - Python 3.10
        import sre_parse  # type: ignore[no-redef]
    try:
        prefixes = _prefixes(list(sre_parse.parse(source)))
    except Exception:  # noqa: BLE001 - no prefix is always safe
        return None
    if not prefixes or len(prefixes) > _MAX_PREFIXES or min(map(len, prefixes)) < _MIN_PREFIX:
        return None
    return tuple(sorted(set(prefixes)))


def _prefixes(items: list) -> list[str] | None:
    """Literal starts of a parsed sequence; None when one branch has none."""
    starts = [""]
    for op, arg in items:
        name = str(op)
        if name in ("AT", "ASSERT", "ASSERT_NOT") and all(s == "" for s in starts):
            continue  # zero-width before the first character
        if name == "LITERAL":
            starts = [s + chr(arg) for s in starts]
            continue
        if name == "IN" and all(str(o) == "LITERAL" for o, _ in arg) and len(arg) <= 4:
            starts = [s + chr(a) for s in starts for _, a in arg]
            if len(starts) > _MAX_PREFIXES:
                return None
            continue
        if name == "SUBPATTERN" and not arg[1] and all(s == "" for s in starts):
            inner = _prefixes(list(arg[-1]))
            return inner if inner is None else [s + i for s in starts for i in inner]
        if name == "BRANCH":  # the parser moves a common first character out of the branches
            found = [_prefixes(list(branch)) for branch in arg[1]]
            if any(f is None for f in found):
                return starts if any(starts) else None
            return [s + p for s in starts for f in found for p in f]  # type: ignore[union-attr]
        break
    return starts if any(starts) else None


@functools.lru_cache(maxsize=1)
def shipped_matcher() -> tuple[tuple[Signature, ...], dict[str, frozenset[str]]]:
    """The shipped catalogue's signatures and causes, compiled once per process."""
    from csm_doctor.catalogue import shipped_catalogue

    catalogue = shipped_catalogue()
    return compile_signatures(catalogue), catalogue.causes


# --------------------------------------------------------------------------- #
# Scanning
# --------------------------------------------------------------------------- #


def paste_lines(text: str) -> list[str]:
    """The paste as lines, numbered as extract.py numbers them (LF, CRLF and CR each end one).

    Colour codes are gone (real ones and ones pasted as "ESC[1;36m" text).
    """
    # one substitution over the whole text (the pattern never crosses a line), then split
    return [line.rstrip() for line in _LITERAL_ANSI_RE.sub("", normalize_text(text)).split("\n")]


def scan(lines: list[str], signatures: Iterable[Signature]) -> list[Hit]:
    """Every (signature, line) match, at most one per pair, in no particular order.

    Identical lines (a log repeating a warning, a `watch` loop) are searched
    once and their hits copied to each copy. A signature with literal
    prefixes is only tried on the lines holding one (found with str.find,
    much faster than a regex scan); the others are one finditer over the
    paste. Either way each line is searched at most once per signature:
    linear in the paste.
    """
    copies: dict[str, list[int]] = {}
    for index, line in enumerate(lines):
        copies.setdefault(line[:MAX_LINE], []).append(index)
    unique = list(copies)
    text = "\n".join(unique)
    starts, position = [], 0
    for line in unique:
        starts.append(position)
        position += len(line) + 1
    hits = []
    lines_of: dict[str, list[int]] = {}  # prefix -> the unique lines holding it (shared by signatures)
    for signature in signatures:
        found: list[tuple[int, re.Match[str]]] = []  # (unique line, its match)
        if signature.prefixes:
            for index in _lines_with(text, starts, signature.prefixes, lines_of):
                match = signature.pattern.search(unique[index])
                if match:
                    found.append((index, match))
                    if len(found) >= MAX_HITS_PER_SIGNATURE:
                        break
        else:
            seen: set[int] = set()
            for match in signature.pattern.finditer(text):
                index = bisect.bisect_right(starts, match.start()) - 1
                if index not in seen:
                    seen.add(index)
                    found.append((index, match))
                    if len(found) >= MAX_HITS_PER_SIGNATURE:
                        break
        mine = []
        for index, match in found:
            column = match.start() - (0 if signature.prefixes else starts[index])
            subject = match.groupdict().get("subject")
            mine.extend(Hit(line + 1, lines[line], column, signature, subject)
                        for line in copies[unique[index]][:MAX_HITS_PER_SIGNATURE])
        mine.sort(key=lambda hit: hit.line)
        hits.extend(mine[:MAX_HITS_PER_SIGNATURE])
    return hits


def _lines_with(text: str, starts: list[int], prefixes: tuple[str, ...],
                cache: dict[str, list[int]]) -> list[int]:
    """Indexes of the lines containing any of `prefixes`, in order (each line once)."""
    found: set[int] = set()
    for prefix in prefixes:
        if prefix not in cache:
            indexes, position = [], text.find(prefix)
            while position >= 0:
                index = bisect.bisect_right(starts, position) - 1
                indexes.append(index)
                if index + 1 >= len(starts):
                    break
                position = text.find(prefix, starts[index + 1])
            cache[prefix] = indexes
        found.update(cache[prefix])
    return sorted(found)


# --------------------------------------------------------------------------- #
# Matching: hits → findings, root cause first
# --------------------------------------------------------------------------- #


def match_text(text: str, facts: dict[str, Any] | None = None,
               sources: list[dict[str, Any]] | None = None,
               catalogue: Catalogue | None = None) -> list[dict[str, Any]]:
    """The known problems `text` shows, best first, as contract finding objects.

    Each has the contract keys (id, status "fail" or "warn", title, fix, ...)
    plus "evidence" [{"line", "text"}], "confidence" ("certain"/"likely"),
    "explained_by" (ids found in the same paste that cause it) and
    "occurrences" (matching lines). `facts`/`sources` are extract_facts' result.
    """
    from csm_doctor.catalogue import shipped_catalogue

    if catalogue is None:
        catalogue = shipped_catalogue()
        signatures, causes = shipped_matcher()
    else:
        signatures = compile_signatures(catalogue)
        causes = catalogue.causes
    facts = facts or {}
    lines = paste_lines(text)
    candidates = _group(scan(lines, signatures))
    # the verdicts may ask which outputs the paste holds (not part of the facts document)
    found = _resolve(candidates, {**facts, "_sources": {s.get("kind") for s in sources or []}},
                     causes, catalogue)
    if any(not _is_fallback(f) for f in found):
        found = [f for f in found if not _is_fallback(f)]
    found.extend(_facts_alone(facts, sources or [], lines, found, catalogue))
    return _ordered(found, causes, catalogue)


def _is_fallback(found: "_Found") -> bool:
    """Recognised only by (?#fallback) guesses: dropped when anything else is recognised."""
    direct = [h for h in found.hits if not h.signature.is_context]
    return bool(direct) and all("fallback" in h.signature.flags for h in direct)


def _strength(hit: Hit) -> tuple[int, int]:
    """Which of several hits on one line speaks for it: a plain signature, then one with a subject."""
    return (0 if not hit.signature.flags else 1 if "likely" in hit.signature.flags else 2,
            0 if hit.subject else 1)


def _group(hits: list[Hit]) -> dict[str, _Candidate]:
    """Hits per diagnosis id, one per line (two signatures of one id may both match it)."""
    best: dict[tuple[str, bool, int], Hit] = {}
    for hit in hits:
        key = (hit.signature.diagnosis.id, hit.signature.is_context, hit.line)
        if key not in best or _strength(hit) < _strength(best[key]):
            best[key] = hit
    candidates: dict[str, _Candidate] = {}
    for hit in sorted(best.values(), key=lambda h: h.line):
        candidate = candidates.setdefault(hit.signature.diagnosis.id, _Candidate(hit.signature.diagnosis.id))
        (candidate.context if hit.signature.is_context else candidate.direct).append(hit)
    return candidates


@dataclass
class _Found:
    id: str
    diagnosis: Diagnosis
    hits: list[Hit]
    confidence: str
    details: list[str]
    evidence: list[dict[str, Any]] | None = None  # facts-alone findings cite their sources
    from_facts: bool = False

    @property
    def occurrences(self) -> int:
        return len({h.line for h in self.hits if not h.signature.is_context}) or len(self.evidence or [])


def _resolve(candidates: dict[str, _Candidate], facts: dict[str, Any],
             causes: dict[str, frozenset[str]], catalogue: Catalogue) -> list[_Found]:
    verdicts = {}
    for candidate in candidates.values():
        subjects = [h.subject for h in candidate.direct if h.subject]
        name = catalogue.diagnoses[candidate.id].verdict
        judge = VERDICTS[name] if name else None
        verdicts[candidate.id] = judge(facts, subjects) if judge else (None, None)
        settled = bool(candidate.context) or verdicts[candidate.id][0] is True
        candidate.direct = [h for h in candidate.direct
                            if settled or "needs-context" not in h.signature.flags]
        if any("fallback" not in h.signature.flags for h in candidate.direct):
            candidate.direct = [h for h in candidate.direct if "fallback" not in h.signature.flags]
    lines_of = {c.id: {h.line for h in c.direct} for c in candidates.values() if c.direct}
    found = []
    for candidate in candidates.values():
        roots = [root for root in lines_of if root != candidate.id
                 and candidate.id in causes.get(root, ())]
        own = [h for h in candidate.direct if not any(h.line in lines_of[r] for r in roots)]
        if not own:
            continue
        confirmed, why = verdicts[candidate.id]
        plain = any(not h.signature.flags for h in own)
        certain = plain or bool(candidate.context) or confirmed is True
        details = [why] if why else []
        if not certain and confirmed is None:
            details.append("likely: this message has other causes too, and the paste does not "
                           "show what settles it")
        hits = own + candidate.context[:1] if candidate.context else own
        found.append(_Found(candidate.id, own[0].signature.diagnosis, sorted(hits, key=lambda h: h.line),
                            "certain" if certain else "likely", details))
    return found


def _facts_alone(facts: dict[str, Any], sources: list[dict[str, Any]], lines: list[str],
                 found: list[_Found], catalogue: Catalogue) -> list[_Found]:
    """Known bad combinations the paste's facts show without any error text."""
    have = {f.id for f in found}
    out = []
    for diagnosis in catalogue.diagnoses.values():
        if diagnosis.facts_alone is None or diagnosis.id in have:
            continue
        name, kinds = diagnosis.facts_alone
        confirmed, why = VERDICTS[name](facts, [])
        if confirmed is not True:
            continue
        cited = [{"line": s["line"], "text": _clip(lines[s["line"] - 1], 0)}
                 for s in sources if s.get("kind") in kinds
                 and 0 < s.get("line", 0) <= len(lines)]
        out.append(_Found(diagnosis.id, diagnosis, [], "likely",
                          [why or "", "no error message in the paste: the facts it shows predict "
                                      "this problem"], evidence=cited[:MAX_EVIDENCE],
                          from_facts=True))
    return out


def _ordered(found: list[_Found], causes: dict[str, frozenset[str]],
             catalogue: Catalogue) -> list[dict[str, Any]]:
    ids = {f.id for f in found}
    explained_by = {f.id: sorted(r for r in ids if r != f.id and f.id in causes.get(r, ()))
                    for f in found}

    @functools.lru_cache(maxsize=None)
    def depth(diagnosis_id: str) -> int:
        roots = explained_by[diagnosis_id]
        return 1 + max(depth(r) for r in roots) if roots else 0

    def first_line(f: _Found) -> int:
        lines = [h.line for h in f.hits] or [e["line"] for e in f.evidence or []]
        return min(lines, default=10**9)

    ordered = sorted(found, key=lambda f: (depth(f.id), f.from_facts,
                                           CONFIDENCE_RANK[f.confidence], first_line(f)))
    return [_to_json(f, explained_by[f.id], catalogue) for f in ordered]


def short_cause(cause: str) -> str:
    """A diagnosis' cause as a one-line title: the parenthesised quoted examples dropped."""
    kept, depth, group = [], 0, []
    for char in cause:
        if char == "(":
            depth += 1
        if depth:
            group.append(char)
        else:
            kept.append(char)
        if char == ")" and depth:
            depth -= 1
            if not depth:
                text = "".join(group)
                if not any(q in text for q in "\"`"):
                    kept.append(text)
                group = []
    return re.sub(r"\s+([,;:.])", r"\1", re.sub(r"\s{2,}", " ", "".join(kept))).strip().rstrip(".;:,")


def _clip(line: str, column: int) -> str:
    """The line around the match, at most EVIDENCE_WIDTH characters."""
    text = line.strip()
    if len(text) <= EVIDENCE_WIDTH:
        return text
    offset = len(line) - len(line.lstrip())
    start = max(0, min(column - offset - 80, len(text) - EVIDENCE_WIDTH))
    return ("…" if start else "") + text[start:start + EVIDENCE_WIDTH] + \
        ("…" if start + EVIDENCE_WIDTH < len(text) else "")


def _to_json(found: _Found, explained_by: list[str], catalogue: Catalogue) -> dict[str, Any]:
    from csm_doctor.remedy import triage_remedy

    diagnosis = found.diagnosis
    subjects = sorted({h.subject for h in found.hits if h.subject})
    title = short_cause(diagnosis.cause)
    if subjects:
        title += f": {', '.join(subjects)}"
    details = [d for d in found.details if d]
    if explained_by:
        details.insert(0, f"a consequence of {', '.join(explained_by)} (reported above)")
    finding = make_finding(found.id, Status.WARN if explained_by or found.from_facts else Status.FAIL,
                           title, group=diagnosis.area, fix=diagnosis.fix,
                           subject=", ".join(subjects) or None, details=details)
    finding.remedy = triage_remedy(diagnosis, catalogue)
    evidence = found.evidence if found.evidence is not None else \
        [{"line": h.line, "text": _clip(h.text, h.column)} for h in found.hits[:MAX_EVIDENCE]]
    return {**finding.to_json(), "evidence": evidence, "confidence": found.confidence,
            "explained_by": explained_by, "occurrences": found.occurrences}


# --------------------------------------------------------------------------- #
# The list docs/triage.md shows
# --------------------------------------------------------------------------- #


def recognised_markdown(catalogue: Catalogue | None = None) -> str:
    """The table of recognised problems for docs/triage.md, generated from the catalogue.

    One row per diagnosis id that has signatures (the regexes themselves are in its
    diagnoses/*.yaml entry), with the ids it explains.
    """
    from csm_doctor.catalogue import shipped_catalogue

    catalogue = catalogue or shipped_catalogue()
    causes = catalogue.causes
    recognised = {d.id for d in catalogue.diagnoses.values()
                  if any("context" not in signature_flags(s) for s in d.signatures)}
    rows = ["| id | problem | explains (reported first) |", "| --- | --- | --- |"]
    for diagnosis in catalogue.diagnoses.values():
        if diagnosis.id in recognised:
            explains = ", ".join(f"`{i}`" for i in sorted(causes.get(diagnosis.id, ())))
            rows.append(f"| `{diagnosis.id}` | {short_cause(diagnosis.cause).replace('|', '/')} | "
                        f"{explains} |")
    return "\n".join(rows) + "\n"
