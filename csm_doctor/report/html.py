"""report.html: the support bundle as one page a person opens in any browser, offline.

Self-contained by construction: the styles are inline, the smoke's WAV and PNG
are data: URIs, there is no script, and a Content-Security-Policy forbids the
page from loading anything (`default-src 'none'`). It shows the summary, the
findings with their fixes (commands set as code), the facts that matter first
(the whole facts document folded below), and the smoke run: its figures, an
audio player and its waveform/spectrogram picture.

The text parts are built from the already redacted report document and go
through the redactor once more; the media are inserted afterwards, so the
redactor never rewrites base64 by accident.
"""

from __future__ import annotations

import base64
import html
import json
import os
from pathlib import Path
from typing import Any

from csm_doctor import PROJECT_URL

MAX_MEDIA_BYTES = 16 * 1024 * 1024
_STATUS_ORDER = ("fail", "error", "warn", "pass", "skip")
_COLOURS = {"fail": "#c62828", "error": "#ad1457", "warn": "#ef6c00", "pass": "#2e7d32", "skip": "#757575"}
CSP = ("default-src 'none'; img-src data:; media-src data:; style-src 'unsafe-inline'; "
       "base-uri 'none'; form-action 'none'")

STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d1d24;background:#fafafc}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 10px;border-bottom:1px solid #ddd}
.muted{color:#666}.badge{display:inline-block;min-width:44px;text-align:center;color:#fff;
border-radius:4px;padding:1px 6px;font-size:13px;font-weight:600}
.counts span{margin-right:14px}table{border-collapse:collapse;width:100%}
td,th{vertical-align:top;text-align:left;padding:6px 8px;border-bottom:1px solid #e4e4ea}
td:nth-child(2) code{white-space:nowrap}
code,pre{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
code{background:#eef0f5;padding:1px 4px;border-radius:3px;overflow-wrap:anywhere}
pre{background:#f1f2f6;padding:10px;overflow:auto;max-height:480px}
.fix{margin-top:4px}.details{color:#555;font-size:13px;margin:4px 0 0 0;padding-left:18px}
figure{margin:12px 0}img{max-width:100%;border:1px solid #ddd;background:#fff}
audio{width:100%;max-width:640px}
"""


def report_page(report: dict[str, Any], redactions: list[dict[str, Any]], redactor: Any) -> str:
    """The page's HTML for this (redacted) report document."""
    media = smoke_media(report.get("smoke") or {})
    # The same text-level pass report.json gets (some patterns, like "serial": "...", are
    # recognised in JSON text), before anything is HTML-escaped and no longer looks like it.
    report = json.loads(redactor.text(json.dumps(report, ensure_ascii=False, default=str)))
    smoke_result = ((report.get("smoke") or {}).get("result")) or None
    text = redactor.text(_page(report, redactions, smoke_result, media))
    for key, uri in media.items():  # after redaction: base64 is data, not text to scan
        text = text.replace(f"@@MEDIA:{key}@@", uri)
    return text


def smoke_media(smoke: dict[str, Any]) -> dict[str, str]:
    """data: URIs of the smoke run's WAV and PNG, found from its result (paths may be ~-redacted)."""
    result = smoke.get("result") or {}
    folder = Path(os.path.expanduser(str(smoke.get("path") or ""))).parent if smoke.get("path") else None
    out: dict[str, str] = {}
    for key, field, mime in (("audio", "audio_path", "audio/wav"), ("image", "png_path", "image/png")):
        data = _read_media(result.get(field), folder)
        if data is not None:
            out[key] = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    return out


def _read_media(path: Any, folder: Path | None) -> bytes | None:
    if not path:
        return None
    candidates = [Path(os.path.expanduser(str(path)))]
    if folder is not None:
        candidates.append(folder / Path(str(path)).name)
    for candidate in candidates:
        try:
            if candidate.is_file() and candidate.stat().st_size <= MAX_MEDIA_BYTES:
                return candidate.read_bytes()
        except OSError:
            continue
    return None


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _badge(status: str) -> str:
    colour = _COLOURS.get(status, "#555")
    return f'<span class="badge status-{_e(status)}" style="background:{colour}">{_e(status)}</span>'


def _page(report: dict[str, Any], redactions: list[dict[str, Any]], smoke: dict[str, Any] | None,
          media: dict[str, str]) -> str:
    recipe = report.get("recipe") or {}
    summary = report.get("summary") or {}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>csm-doctor report · {_e(recipe.get('id'))}</title>",
        f"<style>{STYLE}</style></head><body><main>",
        "<h1>csm-doctor report</h1>",
        f'<p class="muted">{_e(report.get("created_at"))} · csm-doctor {_e(report.get("version"))} · '
        f'recipe <b>{_e(recipe.get("id"))}</b>: {_e(recipe.get("title"))}'
        + (f" (chosen: {_e(recipe.get('reason'))})" if recipe.get("reason") else "") + "</p>",
        _summary(summary),
        _findings(report.get("findings") or []),
        _smoke(smoke, media),
        _facts(report.get("facts") or {}, report.get("versions") or {}),
        _redactions(redactions),
        f'<p class="muted">Made by csm-doctor ({_e(PROJECT_URL)}). The same data is in report.json; '
        "SHA256SUMS lists every file of the bundle.</p>",
        "</main></body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def _summary(summary: dict[str, Any]) -> str:
    counts = "".join(f"<span>{_badge(s)} {_e(summary.get(s, 0))}</span>" for s in _STATUS_ORDER
                     if isinstance(summary.get(s), int))
    return f'<h2 id="summary">Summary</h2><p class="counts">{counts}</p>'


def _findings(findings: list[dict[str, Any]]) -> str:
    shown = [f for f in findings if f.get("status") != "skip"]
    rows = []
    for f in shown:
        fix = f.get("fix")
        remedy = f.get("remedy") or {}
        commands = [c for c in remedy.get("commands") or [] if c] if isinstance(remedy, dict) else []
        fix_html = ""
        if commands:
            fix_html = "".join(f'<div class="fix"><code>{_e(c)}</code></div>' for c in commands)
            if remedy.get("text"):
                fix_html += f'<div class="fix">{_e(remedy.get("text"))}</div>'
        elif fix:
            fix_html = f'<div class="fix">→ {_code_spans(str(fix))}</div>'
        details = f.get("details") or []
        details_html = ("<ul class=\"details\">" + "".join(f"<li>{_e(d)}</li>" for d in details[:8])
                        + "</ul>") if details else ""
        subject = f" <span class=\"muted\">({_e(f.get('subject'))})</span>" if f.get("subject") else ""
        rows.append(f'<tr class="finding finding-{_e(f.get("status"))}"><td>{_badge(str(f.get("status")))}</td>'
                    f"<td><code>{_e(f.get('id'))}</code></td>"
                    f"<td>{_e(f.get('title'))}{subject}{fix_html}{details_html}</td></tr>")
    skipped = len(findings) - len(shown)
    note = f'<p class="muted">{skipped} checks did not apply here (skipped); report.json lists them.</p>' \
        if skipped else ""
    body = "".join(rows) or '<tr><td colspan="3">No findings.</td></tr>'
    return (f'<h2 id="findings">Findings</h2><table><thead><tr><th>status</th><th>id</th>'
            f"<th>what, and what to do</th></tr></thead><tbody>{body}</tbody></table>{note}")


_COMMAND_WORDS = ("pip ", "python ", "python3 ", "export ", "hf ", "uv ", "conda ", "source ",
                  "setx ", "csm-doctor ", "sudo ", "apt-get ", "apt ", "brew ", "winget ", "dnf ")


def _code_spans(text: str) -> str:
    """A fix that is a command set as code; backquoted parts of prose set as code."""
    if "`" not in text and text.startswith(_COMMAND_WORDS):
        return f"<code>{_e(text)}</code>"
    pieces = text.split("`")
    return "".join(f"<code>{_e(p)}</code>" if i % 2 else _e(p) for i, p in enumerate(pieces))


def _smoke(smoke: dict[str, Any] | None, media: dict[str, str]) -> str:
    if not smoke:
        return ('<h2 id="smoke">Smoke test</h2><p class="muted">No smoke result in this bundle '
                "(run <code>csm-doctor smoke</code> before <code>csm-doctor report</code>).</p>")
    figures = [("status", smoke.get("status")), ("model", smoke.get("model")),
               ("device", smoke.get("device_reason") or smoke.get("device")),
               ("audio", f"{smoke.get('audio_seconds')} s at {smoke.get('sample_rate')} Hz"
                if smoke.get("audio_seconds") is not None else None),
               ("load", _seconds(smoke.get("load_seconds"))),
               ("first audio", _seconds(smoke.get("time_to_first_audio_seconds"))),
               ("generate", _seconds(smoke.get("generate_seconds"))),
               ("RTF", smoke.get("rtf")), ("peak memory", f"{smoke.get('peak_memory_mib')} MiB"
                                          if smoke.get("peak_memory_mib") is not None else None)]
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in figures if v is not None)
    expect = ("Random weights: noise is expected, not speech."
              if smoke.get("model") in ("tiny", "random-weights")
              else "A real checkpoint: expect clear speech; noise or silence means a problem.")
    player = ('<figure><audio id="smoke-audio" controls preload="auto" src="@@MEDIA:audio@@"></audio>'
              f"<figcaption class=\"muted\">{_e(expect)}</figcaption></figure>") \
        if "audio" in media else '<p class="muted">The WAV was not found next to the result.</p>'
    picture = ('<figure><img id="smoke-plot" alt="waveform over spectrogram of the smoke audio" '
               'src="@@MEDIA:image@@"></figure>') if "image" in media else ""
    findings = [f for f in smoke.get("findings") or [] if f.get("status") not in ("pass", "skip")]
    problems = "".join(f"<li>{_badge(str(f.get('status')))} <code>{_e(f.get('id'))}</code> "
                       f"{_e(f.get('title'))}</li>" for f in findings)
    return (f'<h2 id="smoke">Smoke test</h2><table>{rows}</table>{player}{picture}'
            + (f"<ul>{problems}</ul>" if problems else ""))


def _seconds(value: Any) -> str | None:
    return f"{value:.2f} s" if isinstance(value, (int, float)) else None


def _facts(facts: dict[str, Any], versions: dict[str, Any]) -> str:
    def get(*path: str) -> Any:
        node: Any = facts
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        return node

    gpus = ", ".join(f"{g.get('name')} ({g.get('memory_total_mib')} MiB, sm {g.get('compute_capability')})"
                     for g in get("nvidia", "gpus") or [] if isinstance(g, dict))
    chosen = get("doctor", "target") or {}
    rows = [("OS", " ".join(str(x) for x in (get("os", "name"), get("os", "release"), get("os", "arch"))
                            if x)),
            ("Python", f"{get('python', 'version')} at {get('python', 'executable')}"
             + (f" ({chosen.get('note')})" if chosen.get("note") else "")),
            ("torch", f"{get('torch', 'version')} (CUDA {get('torch', 'cuda')})" if get("torch", "version")
             else "not installed"),
            ("NVIDIA driver", f"{get('nvidia', 'driver_version')} (CUDA {get('nvidia', 'cuda_version')})"
             if get("nvidia", "driver_version") else None),
            ("GPUs", gpus or None),
            ("ffmpeg", get("ffmpeg", "version")),
            ("Hugging Face token", {True: "present", False: "missing"}.get(get("hf", "token_present")))]
    packages = (versions.get("packages") or {}) if isinstance(versions, dict) else {}
    if packages:
        rows.append(("key packages", ", ".join(f"{k} {v}" for k, v in packages.items())))
    table = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows if v)
    document = json.dumps(facts, indent=2, ensure_ascii=False, default=str)
    return (f'<h2 id="facts">Facts</h2><table>{table}</table>'
            f"<details><summary>The whole facts document</summary><pre>{_e(document)}</pre></details>")


def _redactions(redactions: list[dict[str, Any]]) -> str:
    if not redactions:
        return ""
    kinds = ", ".join(f"{r.get('count')} × {r.get('kind')}" for r in redactions)
    return f'<p class="muted">Redacted before writing: {_e(kinds)} (the values are never kept).</p>'
