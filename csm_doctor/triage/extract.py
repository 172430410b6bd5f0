"""Find every tool output embedded in pasted text and read its facts.

Users paste whatever they have: an issue body with ``` fences around
`nvidia-smi`, a Colab cell with colours, a Windows log with CRLF endings, two
tools run back to back, prose in any language in between. Triage answers with
the paths the probes fill (docs/facts.md), so the rules judge a paste like a
live machine.

How: the text is cut into blocks, one per embedded output. Each format knows
the line its output opens with (a banner or header printed once), the lines a
paste of it may start at when that was cut off, the lines that belong just
above that (timestamp, `<?xml ...>`) and the lines that continue it. Formats
claim blocks in turn, most distinctive first; a block ends at a line that does
not continue it, after too many blank lines, or where another output opens.
Each block is read by its parser in csm_doctor.parsers and the partial facts
are merged: the more complete source wins (full GPU names from -q/XML/CSV/-L
over the table's truncated ones) and the others fill its gaps (compute
capability from wherever it appears).

Speed: candidate lines for each format are found by one regular-expression
pass over the whole text (in C), Python only looks at those and at the lines
of the blocks they start, so a 1 MB paste takes a fraction of a second.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from csm_doctor.facts import empty_facts
from csm_doctor.gpu import GPU_KEYS, facts_gpu
from csm_doctor.parsers import (
    collect_env,
    env_reports,
    ffmpeg,
    npu_smi,
    nvidia_smi,
    nvidia_smi_q,
    nvidia_smi_xml,
    pip_freeze,
    prose,
)
from csm_doctor.parsers.textutil import never_raise, normalize_text

Facts = dict[str, Any]
Source = dict[str, Any]
LinePredicate = Callable[[str], bool]
# (line, the block's previous non-blank line) -> the line belongs to the block
Continues = Callable[[str, str], bool]

# Past this many outputs of one kind (a `watch nvidia-smi` log) the rest add
# nothing, since the first value wins; past this many false starts, give up.
_MAX_BLOCKS_PER_FORMAT = 50
_MAX_TRIES_PER_FORMAT = 500
# Prose (what the reporter says: "I have an RTX 5090") sits at the top of an issue
# body, before the logs; past this many characters the paste is log, not prose.
PROSE_CHARS = 100_000
# Markdown quote markers ("> ", "> > ") in front of pasted output.
_QUOTE_RE = re.compile(r"^[ \t]{0,3}(?:>[ \t]?)+", re.MULTILINE)


# --------------------------------------------------------------------------- #
# Line predicates, per format
# --------------------------------------------------------------------------- #

_TIMESTAMP_RE = re.compile(r"\s*\w{3}\s+\w{3}\s+\d{1,2}\s+\d{1,2}:\d\d:\d\d\s+\d{4}\s*")
_TABLE_LINE_RE = re.compile(r"\s*[|+]")
_SMI_HEADER_RE = re.compile(r"NVIDIA-SMI\s+\d", re.IGNORECASE)
_SMI_COLUMNS_RE = re.compile(r"\s*\|\s*GPU\s+Name\b")
_NPU_TITLE_RE = re.compile(r"\s*\|?\s*npu-smi\s+\d", re.IGNORECASE)
_NPU_COLUMNS_RE = re.compile(r"\s*\|\s*NPU\s+Name\s*\|")
_Q_OPENS_RE = re.compile(r"\s*=+\s*NVSMI LOG\s*=+")
_Q_STARTS_RE = re.compile(r"\s*(?:=+\s*NVSMI LOG\s*=+|Attached GPUs\s+:)")
_Q_ENTRY_RE = re.compile(r"\S[^:]{0,80}?\s+:")  # "Key    : value", padded before the colon
_Q_GPU_RE = re.compile(r"\s*GPU\s+[0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-9A-Fa-f]\s*")
_ENV_OPENS_RE = re.compile(r"\s*PyTorch version\s*:", re.IGNORECASE)
_ENV_STARTS_RE = re.compile(r"\s*(?:PyTorch version|Is debug build|CUDA used to build PyTorch)\s*:",
                            re.IGNORECASE)
_ENV_LEADS_RE = re.compile(r"\s*Collecting environment information", re.IGNORECASE)
_ENV_LINE_RE = re.compile(
    r"\s*(?:[A-Za-z][^:=]{0,60}:(?:\s|$)"  # "Label: value" (lscpu's too)
    r"|\[(?:pip\d?|conda)\]\s"  # "[pip3] torch==2.4.0"
    r"|\w{1,40}=(?!=)"  # Windows wmic CPU lines ("Architecture=9"), not "torch==2.4.0"
    r"|/|[A-Za-z]:\\)"  # cuDNN library paths
)
_FFMPEG_LINE_RE = re.compile(r"\s*(?:built\s+with\s|configuration:|lib(?:av|sw|post)[a-z]+\s+\d)",
                             re.IGNORECASE)
_VERSION_OPENS_RE = re.compile(r"\s*NVIDIA-SMI\s+version\s*:", re.IGNORECASE)
_VERSION_STARTS_RE = re.compile(r"\s*(?:NVIDIA-SMI|NVML|DRIVER|KMD)\s+version\s*:", re.IGNORECASE)
_VERSION_LINE_RE = re.compile(r"\s*[A-Za-z][\w ]{0,30}?\s+version\s*:", re.IGNORECASE)
_LIST_RE = re.compile(r"\s*GPU\s+\d+\s*:.{0,300}\((?:UUID|S/N)\s*:")
_LIST_MIG_RE = re.compile(r"\s*MIG\s+\S+\s+Device\s+\d+\s*:")


def _never(*_args: str) -> bool:
    return False


def _matches(pattern: re.Pattern[str]) -> LinePredicate:
    return lambda line: bool(pattern.match(line))


def _continues_matching(*patterns: re.Pattern[str]) -> Continues:
    return lambda line, _previous: any(pattern.match(line) for pattern in patterns)


def _is_table_line(line: str, _previous: str = "") -> bool:
    return bool(_TABLE_LINE_RE.match(line))


def _table_leads(line: str) -> bool:
    """Above a table header: its top border and the timestamp nvidia-smi prints first."""
    return _is_table_line(line) or bool(_TIMESTAMP_RE.fullmatch(line))


def _smi_table_opens(line: str) -> bool:
    return bool(_SMI_HEADER_RE.search(line)) and nvidia_smi.looks_like_table(line)


def _smi_table_starts(line: str) -> bool:
    return _smi_table_opens(line) or bool(_SMI_COLUMNS_RE.match(line))


def _npu_opens(line: str) -> bool:
    return bool(_NPU_TITLE_RE.match(line))


def _npu_starts(line: str) -> bool:
    return _npu_opens(line) or bool(_NPU_COLUMNS_RE.match(line))


def _q_continues(line: str, _previous: str) -> bool:
    """Indented report lines, padded "Key : value" lines and "GPU <bus id>" headings."""
    return line[:1].isspace() or bool(_Q_ENTRY_RE.match(line) or _Q_GPU_RE.fullmatch(line)
                                      or _Q_OPENS_RE.match(line))


def _q_leads(line: str) -> bool:
    """Above "Attached GPUs" when the banner was cut: the Timestamp/Driver/CUDA lines."""
    return bool(_Q_ENTRY_RE.match(line) or _Q_OPENS_RE.match(line))


def _xml_opens(line: str) -> bool:
    return "<nvidia_smi_log" in line


def _xml_continues(line: str, _previous: str) -> bool:
    """Elements, or indented text content (`<mig_devices>` holds a bare "None" line)."""
    return line[:1].isspace() or line.startswith("<")


def _xml_leads(line: str) -> bool:
    return line.lstrip().startswith(("<?xml", "<!DOCTYPE"))


def _env_continues(line: str, previous: str) -> bool:
    """collect_env lines; on macOS the line under "CPU:" is a bare brand string."""
    return bool(_ENV_LINE_RE.match(line)) or previous.strip() == "CPU:"


# --------------------------------------------------------------------------- #
# Block readers: block text -> partial facts, None when the block holds nothing
# --------------------------------------------------------------------------- #


def _gpu(record: dict) -> dict:
    """A GPU in the facts shape (parser extras such as driver_model dropped)."""
    return dict(facts_gpu(record))


def _nvidia(driver: str | None, cuda: str | None, gpus: list[dict]) -> Facts | None:
    if not (driver or cuda or gpus):
        return None
    return {"nvidia": {"driver_version": driver, "cuda_version": cuda, "gpus": [_gpu(g) for g in gpus]}}


def _read_smi_report(parsed: dict) -> Facts | None:
    """parse_table, parse_query_text and parse_query_xml results share these keys."""
    return _nvidia(parsed["driver_version"], parsed["cuda_version"], parsed["gpus"])


def _read_csv(text: str) -> Facts | None:
    """GPUs from a --query-gpu CSV; a --query-compute-apps one is found but states no facts."""
    gpus = nvidia_smi.parse_query_gpu_csv(text)
    if gpus:
        driver = next((gpu["driver_version"] for gpu in gpus if gpu["driver_version"]), None)
        return _nvidia(driver, None, gpus)
    return {} if nvidia_smi.parse_query_compute_apps_csv(text) else None


def _read_version(text: str) -> Facts | None:
    parsed = nvidia_smi.parse_version(text)
    return _nvidia(parsed["driver_version"], parsed["cuda_version"], [])


def _read_list(text: str) -> Facts | None:
    return _nvidia(None, None, nvidia_smi.parse_list(text))


def _read_error(text: str) -> Facts | None:
    error_id = nvidia_smi.detect_error(text)
    return {"nvidia": {"error_id": error_id, "error": text.strip()}} if error_id else None


def _read_npu(text: str) -> Facts | None:
    parsed = npu_smi.parse_npu_smi_info(text)
    if not (parsed["npus"] or parsed["npu_smi_version"]):
        return None
    return {"ascend": {"npu_smi_version": parsed["npu_smi_version"], "npus": parsed["npus"]}}


def _read_ffmpeg(text: str) -> Facts | None:
    parsed = ffmpeg.parse_ffmpeg_version(text)
    if not parsed["version"]:
        return None
    return {"ffmpeg": {"found": True, "version": parsed["version"], "release": parsed["release"]}}


def _read_packages(text: str) -> Facts | None:
    packages = pip_freeze.parse_pip_freeze(text)
    return {"packages": packages} if packages else None


def _read_env_report(text: str) -> Facts | None:
    """`transformers env`, `accelerate env`, `hf env`: torch build, Python, OS, package versions, GPU."""
    report = env_reports.parse_env_report(text)
    if not report:
        return None
    version = report["torch"]["version"]
    available = {"true": True, "false": False, "cuda": True}.get(str(report["torch"]["gpu"]).lower())
    if available is None and report["accelerator"]:
        available = report["accelerator"].upper() == "CUDA" or None
    facts: Facts = {"os": {"name": report["os"]}, "python": {"version": report["python"]},
                    "torch": {"version": version, "variant": torch_variant(version),
                              "cuda_available": available},
                    "packages": report["packages"] or None}
    if report["gpu_type"] and "nvidia" in report["gpu_type"].lower():
        facts["nvidia"] = {"gpus": [_gpu({"name": report["gpu_type"]})]}
    return facts


def _read_pip_check(text: str) -> Facts | None:
    """`pip check`: the versions it names; its complaints are matched as signatures."""
    parsed = env_reports.parse_pip_check(text)
    if not parsed:
        return None
    packages = env_reports.pip_check_packages(parsed)
    return {"packages": packages} if packages else {}


def _read_conda_list(text: str) -> Facts | None:
    """`conda list`: packages, and torch's build (cuda11.3 / cpu) from the pytorch row."""
    parsed = env_reports.parse_conda_list(text)
    if not parsed:
        return None
    return {"os": {"name": parsed["os"]}, "packages": parsed["packages"],
            "torch": {"version": parsed["torch"]["version"], "variant": parsed["torch"]["variant"]}}


_VARIANT_LABEL_RE = re.compile(r"(?:cu\d{2,3}|cpu|rocm\d|xpu)", re.IGNORECASE)


def torch_variant(version: str | None, cuda: str | None = None, hip: str | None = None) -> str | None:
    """"cu124" from "2.4.0+cu124" (the whole label: "cpu-cxx11-abi"), else from the build's CUDA/ROCm.

    A label that is no build variant (NGC's "+410ce96" git hash) is ignored.
    Without a label or a known build, None: a plain "2.4.0" from PyPI is a
    CUDA build on Linux and a CPU one elsewhere.
    """
    label = version.split("+", 1)[1] if version and "+" in version else ""
    if _VARIANT_LABEL_RE.match(label):
        return label
    if cuda:
        return "cu" + cuda.replace(".", "")[:3]
    if hip:
        return "rocm" + ".".join(hip.split(".")[:2])
    return None


def _read_collect_env(text: str) -> Facts | None:
    env = collect_env.parse_collect_env(text)
    torch = {"version": env["torch_version"], "cuda": env["torch_cuda"], "hip": env["torch_rocm"],
             "cuda_available": env["cuda_available"],
             "variant": torch_variant(env["torch_version"], env["torch_cuda"], env["torch_rocm"])}
    # collect_env lists GPUs from `nvidia-smi -L`; a ROCm build lists AMD ones.
    gpus = [] if env["torch_rocm"] else env["gpus"]
    facts: Facts = {
        "os": {"name": env["os"]["name"]},
        "python": {"version": env["python_version"]},
        "torch": torch,
        "nvidia": {"driver_version": env["driver_version"], "gpus": [_gpu(g) for g in gpus]},
        "packages": env["pip_packages"],
    }
    return facts if _has_values(facts) else None


def _has_values(value: Any) -> bool:
    """True when a partial facts tree holds anything besides None, {} and []."""
    if isinstance(value, dict):
        return any(_has_values(item) for item in value.values())
    if isinstance(value, list):
        return bool(value)
    return value is not None


# --------------------------------------------------------------------------- #
# Formats
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class _Format:
    """How to find one tool's output in a paste, and how to read it."""

    kind: str
    rank: int  # merge priority: the higher wins where two outputs disagree
    read: Callable[[str], Facts | None]
    # Every line `starts` accepts contains `hint`, which is searched for over the
    # whole text. Case-sensitive on purpose: the tools print these words in one
    # case, and case-insensitive alternations are several times slower to scan.
    hint: re.Pattern[str]
    starts: LinePredicate  # a line a (possibly cut) paste of the output may start at
    continues: Continues
    opens: LinePredicate = _never  # the output's first line, printed once (banner, header)
    leads: LinePredicate = _never  # lines just above the start that belong to it
    closes: LinePredicate = _never  # its last line
    max_gap: int = 0  # blank lines allowed inside


# Claim order: most distinctive first, so a less specific format never takes
# lines that belong to another (the -q report's "Driver Version : x" lines are
# no `nvidia-smi --version`); collect_env, whose "Label: value" lines match
# much prose, comes last and stops at every line already claimed.
_FORMATS: tuple[_Format, ...] = (
    _Format("nvidia-smi-xml", 5, lambda text: _read_smi_report(nvidia_smi_xml.parse_query_xml(text)),
            hint=re.compile("<nvidia_smi_log"), starts=_xml_opens, opens=_xml_opens,
            continues=_xml_continues, leads=_xml_leads, closes=lambda line: "</nvidia_smi_log>" in line,
            max_gap=1),
    _Format("nvidia-smi-q", 5, lambda text: _read_smi_report(nvidia_smi_q.parse_query_text(text)),
            hint=re.compile("NVSMI LOG|Attached GPUs"), starts=_matches(_Q_STARTS_RE),
            opens=_matches(_Q_OPENS_RE), continues=_q_continues, leads=_q_leads, max_gap=1),
    _Format("nvidia-smi-table", 3, lambda text: _read_smi_report(nvidia_smi.parse_table(text)),
            hint=re.compile(r"NVIDIA-SMI|GPU\s+Name"), starts=_smi_table_starts,
            opens=_smi_table_opens, continues=_is_table_line, leads=_table_leads, max_gap=2),
    _Format("npu-smi", 5, _read_npu, hint=re.compile(r"npu-smi|NPU\s+Name"),
            starts=_npu_starts, opens=_npu_opens, continues=_is_table_line, leads=_is_table_line,
            max_gap=2),
    _Format("nvidia-smi-csv", 4, _read_csv,
            hint=re.compile(r"name|index|memory\.|bus_id|driver_version|compute_cap|pid"),
            starts=nvidia_smi.looks_like_query_csv, opens=nvidia_smi.looks_like_query_csv,
            continues=lambda line, _previous: "," in line),
    _Format("nvidia-smi-version", 4, _read_version, hint=re.compile(r"version\s*:"),
            starts=_matches(_VERSION_STARTS_RE), opens=_matches(_VERSION_OPENS_RE),
            continues=_continues_matching(_VERSION_LINE_RE)),
    _Format("nvidia-smi-list", 2, _read_list, hint=re.compile(r"GPU\s+\d"), starts=_matches(_LIST_RE),
            continues=_continues_matching(_LIST_RE, _LIST_MIG_RE)),
    _Format("ffmpeg", 5, _read_ffmpeg, hint=re.compile("version"),
            starts=ffmpeg.looks_like_ffmpeg_version, opens=ffmpeg.looks_like_ffmpeg_version,
            continues=_continues_matching(_FFMPEG_LINE_RE)),
    _Format("pip-list", 5, _read_packages, hint=re.compile("Package"),
            starts=pip_freeze.is_list_header, opens=pip_freeze.is_list_header,
            continues=lambda line, _previous: pip_freeze.is_list_line(line)),
    _Format("pip-freeze", 5, _read_packages, hint=re.compile(r"==|@|-e\s|--editable"),
            starts=pip_freeze.is_freeze_line,
            continues=lambda line, _previous: pip_freeze.is_freeze_line(line)),
    _Format("transformers-env", 3, _read_env_report, hint=re.compile("ransformers` version|ransformers version"),
            starts=_matches(env_reports.REPORT_STARTS["transformers-env"]),
            opens=_matches(env_reports.REPORT_STARTS["transformers-env"]),
            leads=_matches(env_reports.BANNER_RE),
            continues=lambda line, _previous: env_reports.is_report_line(line), max_gap=1),
    _Format("accelerate-env", 3, _read_env_report, hint=re.compile(r"ccelerate` version"),
            starts=_matches(env_reports.REPORT_STARTS["accelerate-env"]),
            opens=_matches(env_reports.REPORT_STARTS["accelerate-env"]),
            leads=_matches(env_reports.BANNER_RE),
            continues=lambda line, _previous: env_reports.is_report_line(line), max_gap=1),
    _Format("hf-env", 3, _read_env_report, hint=re.compile("huggingface_hub version"),
            starts=_matches(env_reports.REPORT_STARTS["hf-env"]),
            opens=_matches(env_reports.REPORT_STARTS["hf-env"]),
            leads=_matches(env_reports.BANNER_RE),
            continues=lambda line, _previous: env_reports.is_report_line(line), max_gap=1),
    _Format("pip-check", 1, _read_pip_check,
            hint=re.compile("which is not installed|has requirement|No broken requirements"),
            starts=env_reports.is_pip_check_line,
            continues=lambda line, _previous: env_reports.is_pip_check_line(line)),
    _Format("conda-list", 4, _read_conda_list, hint=re.compile("packages in environment at|conda list"),
            starts=lambda line: bool(env_reports.CONDA_HEADER_RE.match(line)
                                     or env_reports.CONDA_COMMAND_RE.match(line)),
            opens=_matches(env_reports.CONDA_HEADER_RE),
            continues=lambda line, _previous: env_reports.is_conda_row(line)
            or bool(env_reports.CONDA_COLUMNS_RE.match(line))),
    _Format("nvidia-smi-error", 5, _read_error, hint=re.compile("NVIDIA|Nvidia|nvidia|devices|mismatch"),
            starts=lambda line: nvidia_smi.detect_error(line) is not None, continues=_never),
    _Format("collect-env", 1, _read_collect_env,
            hint=re.compile("PyTorch version|Is debug build|CUDA used to build"),
            starts=_matches(_ENV_STARTS_RE), opens=_matches(_ENV_OPENS_RE), continues=_env_continues,
            leads=_matches(_ENV_LEADS_RE), max_gap=2),
)


def source_kinds() -> frozenset[str]:
    """The tool outputs extract_facts recognises (what a `facts_alone` entry may cite)."""
    return frozenset(f.kind for f in _FORMATS)


@functools.lru_cache(maxsize=None)
def _literal_alternatives(pattern: str) -> tuple[str, ...] | None:
    """('NVSMI LOG', 'Attached GPUs') for a hint that is only plain words joined by |, else None."""
    parts = pattern.split("|")
    return tuple(parts) if all(re.fullmatch(r"[\w `-]+", part) for part in parts) else None


# --------------------------------------------------------------------------- #
# Segmentation
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class _Block:
    fmt: _Format
    start: int  # 0-based line, inclusive
    end: int  # exclusive
    facts: Facts


class _Paste:
    """The pasted text as lines, with what segmentation has learnt about them."""

    def __init__(self, text: str) -> None:
        self.lines = [line.rstrip() for line in _QUOTE_RE.sub("", normalize_text(text)).split("\n")]
        self.text = "\n".join(self.lines)
        self.claimed = [False] * len(self.lines)
        self._candidates: dict[str, list[int]] = {}
        # Lines that open some output: no block runs across one. An opening
        # line contains its format's hint, so only candidates are checked.
        self.openers = {index for fmt in _FORMATS for index in self.candidates(fmt)
                        if fmt.opens(self.lines[index])}

    def candidates(self, fmt: _Format) -> list[int]:
        """Lines containing the format's hint, in order.

        The searching and newline counting run in C; Python sees one match
        per candidate line.
        """
        if fmt.kind not in self._candidates:
            self._candidates[fmt.kind] = self._search(fmt.hint)
        return self._candidates[fmt.kind]

    def _search(self, hint: re.Pattern[str]) -> list[int]:
        literals = _literal_alternatives(hint.pattern)
        if literals:
            return self._find(literals)
        text, found, line, position = self.text, [], 0, 0
        while (match := hint.search(text, position)) is not None:
            line += text.count("\n", position, match.start())
            found.append(line)
            position = text.find("\n", match.start()) + 1  # resume on the next line
            if position == 0:
                break
            line += 1
        return found

    def _find(self, literals: tuple[str, ...]) -> list[int]:
        """Lines holding any of `literals`, with str.find (several times faster than a regex scan)."""
        text, found = self.text, set()
        for literal in literals:
            position = text.find(literal)
            while position >= 0:
                line_start = text.rfind("\n", 0, position) + 1
                found.add(line_start)
                line_end = text.find("\n", position)
                if line_end < 0:
                    break
                position = text.find(literal, line_end + 1)
        if not found:
            return []
        ordered, lines, previous, line = sorted(found), [], 0, 0
        for start in ordered:
            line += text.count("\n", previous, start)
            lines.append(line)
            previous = start
        return lines

    def extent(self, first: int, fmt: _Format) -> tuple[int, int]:
        """[start, end) of the block of `fmt` whose first recognised line is `first`."""
        lines, claimed = self.lines, self.claimed
        start = first
        while start > 0 and not claimed[start - 1] and fmt.leads(lines[start - 1]):
            start -= 1
        end, gap, previous = first + 1, 0, lines[first]
        for index in range(first + 1, len(lines)):
            line = lines[index]
            if claimed[index] or fmt.closes(previous):
                break
            if not line.strip():
                gap += 1
                if gap > fmt.max_gap:
                    break
                continue
            if index in self.openers or not fmt.continues(line, previous):
                break
            end, gap, previous = index + 1, 0, line
        return start, end

    def claim(self, start: int, end: int) -> None:
        self.claimed[start:end] = [True] * (end - start)


def _blocks_of(paste: _Paste, fmt: _Format) -> list[_Block]:
    """The outputs of one format that yield facts.

    A block whose parser finds nothing is not claimed (its lines stay free
    for the next formats), but this format's scan resumes after it, which
    keeps the pass linear.
    """
    blocks: list[_Block] = []
    resume, tries = 0, 0
    for first in paste.candidates(fmt):
        if first < resume or paste.claimed[first] or not fmt.starts(paste.lines[first]):
            continue
        tries += 1
        start, end = paste.extent(first, fmt)
        facts = fmt.read("\n".join(paste.lines[start:end]))
        if facts is not None:
            blocks.append(_Block(fmt, start, end, facts))
            paste.claim(start, end)
        resume = end
        if len(blocks) >= _MAX_BLOCKS_PER_FORMAT or tries >= _MAX_TRIES_PER_FORMAT:
            break
    return blocks


def _segment(paste: _Paste) -> list[_Block]:
    """Every embedded output that yields facts, in order of appearance."""
    blocks = [block for fmt in _FORMATS for block in _blocks_of(paste, fmt)]
    return sorted(blocks, key=lambda block: block.start)


# --------------------------------------------------------------------------- #
# Merging
# --------------------------------------------------------------------------- #


def _bus_key(bus_id: str | None) -> str | None:
    """"0000:01:00.0" and "00000000:01:00.0" name the same device."""
    if not bus_id or ":" not in bus_id:
        return None
    domain, rest = bus_id.split(":", 1)
    try:
        return f"{int(domain, 16):x}:{rest.lower()}"
    except ValueError:
        return None


def _truncated(name: str | None) -> bool:
    return bool(name) and name.endswith(("...", "\u2026"))


def _compatible(gpu: dict, other: dict) -> bool:
    """Not provably different devices (both bus ids known and unequal)."""
    mine, theirs = _bus_key(gpu["bus_id"]), _bus_key(other["bus_id"])
    return not (mine and theirs and mine != theirs)


def _partner(position: int, gpu: dict, others: list[dict], by_bus: dict, by_index: dict,
             same_count: bool) -> dict | None:
    """The entry of `others` describing the same GPU: by bus id, else index, else position
    (only between lists of the same length)."""
    bus = _bus_key(gpu["bus_id"])
    if bus and bus in by_bus:
        return by_bus[bus]
    candidate = by_index.get(gpu["index"]) if gpu["index"] is not None else None
    if candidate is None and same_count:
        candidate = others[position]
    return candidate if candidate is not None and _compatible(gpu, candidate) else None


def _enrich(gpu: dict, other: dict) -> None:
    """Fill `gpu`'s gaps from `other`; a full name replaces a table's truncated one."""
    for key in GPU_KEYS:
        if gpu[key] is None and other.get(key) is not None:
            gpu[key] = other[key]
    name, full = gpu["name"], other.get("name")
    if _truncated(name) and full and not _truncated(full) and full.startswith(name.rstrip(".\u2026 ")):
        gpu["name"] = full


def merge_gpus(lists: list[list[dict]]) -> list[dict]:
    """One GPU list from several outputs' lists, given best source first.

    The list naming the most GPUs is the base (a trimmed `-q -x` may hold
    fewer GPUs than the table beside it; ties go to the better source); each
    other list fills its gaps, matched GPU by GPU.
    """
    lists = [gpus for gpus in lists if gpus]
    if not lists:
        return []
    base = max(lists, key=len)
    merged = [_gpu(gpu) for gpu in base]
    for others in lists:
        if others is base:
            continue
        by_bus = {_bus_key(gpu["bus_id"]): gpu for gpu in others if _bus_key(gpu["bus_id"])}
        by_index = {gpu["index"]: gpu for gpu in others if gpu["index"] is not None}
        for position, gpu in enumerate(merged):
            partner = _partner(position, gpu, others, by_bus, by_index, len(others) == len(merged))
            if partner:
                _enrich(gpu, partner)
    return merged


def _merge_section(target: dict, values: dict, gpu_lists: list[list[dict]]) -> None:
    """First value wins per key (sources arrive best first); GPU lists are merged at the end."""
    for key, value in values.items():
        if key == "gpus":
            gpu_lists.append(value)
        elif target.get(key) in (None, [], {}) and value not in (None, [], {}):
            target[key] = value


def _torch_from_packages(facts: Facts) -> None:
    """A pip listing with torch tells its version (and, by its label, the variant)."""
    torch = facts["torch"]
    if torch.get("version") is None and (facts["packages"] or {}).get("torch"):
        torch["version"] = facts["packages"]["torch"]
    if torch.get("version") and not torch.get("variant"):
        variant = torch_variant(torch["version"], torch.get("cuda"), torch.get("hip"))
        if variant:
            torch["variant"] = variant


def _assemble(blocks: list[_Block]) -> Facts:
    facts = empty_facts()
    gpu_lists: list[list[dict]] = []
    for block in sorted(blocks, key=lambda block: -block.fmt.rank):  # stable: earlier first on ties
        for section, values in block.facts.items():
            if section == "packages":
                if values:
                    facts["packages"] = {**values, **(facts["packages"] or {})}
                continue
            if not isinstance(facts.get(section), dict):
                facts[section] = {}
            _merge_section(facts[section], values, gpu_lists)
    facts["nvidia"]["gpus"] = merge_gpus(gpu_lists)
    _torch_from_packages(facts)
    return facts


# --------------------------------------------------------------------------- #
# Entry point
# --------------------------------------------------------------------------- #


@never_raise(lambda: (empty_facts(), []))
def extract_facts(text: str) -> tuple[Facts, list[Source]]:
    """Facts shown by the tool outputs embedded in `text`, and where each was found.

    Returns (facts, sources). `facts` is `csm_doctor.facts.empty_facts()` with
    what the text shows filled in: os.name, python.version, torch.{version,
    cuda, variant, hip, cuda_available}, nvidia.{driver_version, cuda_version,
    gpus: [{index, name, memory_total_mib, memory_used_mib, memory_free_mib,
    compute_capability, bus_id}], error_id, error}, ascend.{npu_smi_version,
    npus}, ffmpeg.{found, version, release}, packages: {canonical name:
    version}; null/[] elsewhere. `sources` is [{"kind", "line" (1-based first
    line; LF, CRLF and CR each end a line), "lines" (count)}] in order of
    appearance, one per output read.
    """
    paste = _Paste(text)
    blocks = _segment(paste)
    sources = [{"kind": block.fmt.kind, "line": block.start + 1, "lines": block.end - block.start}
               for block in blocks]
    facts = _assemble(blocks)
    _fill_from_prose(facts, paste.text)
    return facts, sources


def _fill_from_prose(facts: Facts, text: str) -> None:
    """What the words around the outputs state ("Python 3.11", "RTX 5090"), where no output did."""
    said = prose.parse_prose(text[:PROSE_CHARS])
    if said.get("python") and not facts["python"].get("version"):
        facts["python"]["version"] = said["python"]
    if said.get("os") and not facts["os"].get("name"):
        facts["os"]["name"] = said["os"]
    torch = facts["torch"]
    if said.get("torch") and not torch.get("version"):
        torch["version"] = said["torch"]
        torch["variant"] = torch.get("variant") or torch_variant(said["torch"])
    if said.get("gpus") and not facts["nvidia"].get("gpus"):
        facts["nvidia"]["gpus"] = [_gpu({"name": name}) for name in said["gpus"]]
