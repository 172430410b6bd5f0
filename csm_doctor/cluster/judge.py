"""Verdicts on a cluster: every node against the recipe, the nodes against each other, the collective.

Pure functions of what the workers reported (rank entries with each node's
facts, device results and the collective's figures) and of how the launch
ended: no I/O, so each verdict is testable on a captured result.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from csm_doctor.findings import Finding, Status, make_finding, sort_findings

GROUP = "cluster"
MIB = 1024 * 1024
# What must agree across nodes: (label, how to read it from a node), and whether a
# difference fails (versions that change kernels or wire formats) or warns.
_SKEW_FAILS = {"driver": False, "python": False}


@dataclass
class Node:
    """One node: its rank, host, the entries of its ranks and its facts (from local rank 0)."""

    node_rank: int
    host: str
    entries: list[dict[str, Any]]
    facts: dict[str, Any] | None

    @property
    def label(self) -> str:
        return f"node {self.node_rank} ({self.host})"

    @property
    def versions(self) -> dict[str, Any]:
        return (self.entries[0].get("versions") or {}) if self.entries else {}


def finding(id: str, status: Status, title: str, *, subject: str | None = None,
            observed: Any = None, expected: Any = None, details: list[str] | None = None,
            fix: str | None = None) -> Finding:
    from csm_doctor.catalogue import entry_fix

    return make_finding(id, status, title, group=GROUP, check=f"cluster-{id}",
                        fix=fix if fix is not None else entry_fix(id), subject=subject,
                        observed=observed, expected=expected, details=details or ())


def nodes_of(entries: list[dict[str, Any]]) -> list[Node]:
    """Ranks grouped by node rank, in order; a node's facts come from its local rank 0."""
    by_node: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for entry in entries:
        by_node[int(entry.get("node_rank") or 0)].append(entry)
    nodes = []
    for node_rank in sorted(by_node):
        members = sorted(by_node[node_rank], key=lambda e: e.get("rank", 0))
        facts = next((e.get("facts") for e in members if e.get("facts")), None)
        nodes.append(Node(node_rank, str(members[0].get("host") or "?"), members, facts))
    return nodes


def rank_label(rank: int, entries: list[dict[str, Any]]) -> str:
    entry = next((e for e in entries if e.get("rank") == rank), None)
    if entry is None:
        return f"rank {rank}"
    return f"rank {rank} (node {entry.get('node_rank')}, {entry.get('host')})"


# ---------------------------------------------------------------- joining


def judge_join(run: Any) -> list[Finding]:
    """Did every node and rank arrive? `run` is a runner.NodeRun."""
    best = run.best
    finished = run.finished
    if best is None:
        return [_nobody_reported(run)]
    error = best.get("error")
    if error and error.get("stage") == "import":
        return [finding("cluster-worker-failed", Status.FAIL,
                        f"the worker could not import torch in the target: {error['message']}",
                        observed=error["message"])]
    if error and error.get("stage") == "join":
        return [_join_failed(run, error)]
    entries = best.get("entries") or []
    world = (best.get("identity") or {}).get("world_size") or len(entries)
    missing = sorted(set(range(world)) - {e.get("rank") for e in entries})
    if missing:
        return [finding("cluster-node-missing", Status.FAIL,
                        f"{len(missing)} of {world} ranks never reported: "
                        + ", ".join(f"rank {r}" for r in missing), observed=len(entries),
                        expected=world)]
    hosts = len({(e.get("node_rank"), e.get("host")) for e in entries})
    return [finding("cluster-node-missing", Status.PASS,
                    f"all {world} ranks on {hosts} node{'s' * (hosts != 1)} joined"
                    + (f" in {best['joined_s']:.1f} s" if best.get("joined_s") else ""),
                    observed=world, expected=world)]


def _nobody_reported(run: Any) -> Finding:
    """No worker wrote a result: the launcher's rendezvous never completed, or torch is absent."""
    options = run.options
    tail = [line for line in (run.finished.stderr or "").splitlines() if line.strip()][-6:]
    text = "\n".join(tail)
    if "No module named" in text and "torch" in text:
        return finding("cluster-worker-failed", Status.FAIL,
                       "torch.distributed.run is not available in the target interpreter",
                       observed=tail[-1] if tail else None, details=tail)
    launch = options.launch
    where = f"{launch.master_addr or '127.0.0.1'}:{launch.master_port or 29500}"
    if launch.nnodes > 1:
        others = [str(n) for n in range(launch.nnodes) if n != launch.node_rank]
        if launch.node_rank == 0:
            title = (f"node{'s' * (len(others) != 1)} {', '.join(others)} never joined the "
                     f"rendezvous at {where} within {launch.join_timeout:g} s")
        else:
            title = (f"node 0 (the rendezvous at {where}) did not answer within "
                     f"{launch.join_timeout:g} s")
        return finding("cluster-node-missing", Status.FAIL, title,
                       observed=f"node {launch.node_rank} alone", expected=f"{launch.nnodes} nodes",
                       details=[f"launcher: {line}" for line in tail])
    why = "timed out" if run.finished.timed_out else f"exited {run.finished.returncode}"
    return finding("cluster-worker-failed", Status.FAIL,
                   f"the launch {why} before any rank reported", details=tail)


def _join_failed(run: Any, error: dict[str, Any]) -> Finding:
    message = error.get("message") or ""
    return finding("cluster-node-missing", Status.FAIL,
                   f"not every rank joined within {run.options.join_timeout:g} s: {message}",
                   observed=message)


# ---------------------------------------------------------------- nodes against each other


def node_values(node: Node, recipe: Any) -> dict[str, Any]:
    """What must agree across nodes, for one node."""
    facts = node.facts or {}
    versions = node.versions
    values = {
        "driver": (facts.get("nvidia") or {}).get("driver_version"),
        "torch": versions.get("torch"),
        "torch CUDA": versions.get("cuda"),
        "NCCL": versions.get("nccl"),
        "python": versions.get("python"),
    }
    installed = facts.get("packages") or {}
    from csm_doctor.recipe import canonical_name

    for pkg in recipe.packages:
        name = canonical_name(pkg.name)
        if name != "torch":
            values[pkg.name] = installed.get(name)
    return values


def judge_skew(nodes: list[Node], recipe: Any) -> list[Finding]:
    if len(nodes) < 2:
        return []
    table = {node.label: node_values(node, recipe) for node in nodes}
    findings = []
    for key in next(iter(table.values())):
        seen = {label: values.get(key) for label, values in table.items()}
        distinct = set(seen.values())
        if len(distinct) <= 1:
            continue
        status = Status.FAIL if _SKEW_FAILS.get(key, True) else Status.WARN
        listing = ", ".join(f"{value or 'absent'} on {label}" for label, value in seen.items())
        findings.append(finding("cluster-version-skew", status, f"{key} differs across nodes: {listing}",
                                subject=key, observed=seen))
    if not findings:
        findings.append(finding("cluster-version-skew", Status.PASS,
                                f"driver, torch, CUDA, NCCL, Python and the recipe's packages agree "
                                f"on all {len(nodes)} nodes"))
    return findings


# ---------------------------------------------------------------- ranks and devices


def judge_devices(nodes: list[Node], recipe: Any) -> list[Finding]:
    findings: list[Finding] = []
    need_gb = recipe.hardware.get("vram_min_gb")
    kinds = {(e.get("device") or {}).get("type") for n in nodes for e in n.entries}
    for node in nodes:
        findings.extend(_node_gpu_count(node))
        seen: dict[str, int] = {}
        for entry in node.entries:
            device = entry.get("device") or {}
            rank = entry.get("rank")
            if device.get("error"):
                findings.append(finding("cluster-device-error", Status.FAIL,
                                        f"rank {rank} on {node.label}: {device['error']}",
                                        subject=f"rank {rank}", observed=device.get("error")))
                continue
            uuid = device.get("uuid")
            if uuid and uuid in seen:
                findings.append(finding(
                    "cluster-device-error", Status.FAIL,
                    f"ranks {seen[uuid]} and {rank} on {node.label} share one GPU ({device.get('name')})",
                    subject=f"rank {rank}"))
            elif uuid:
                seen[uuid] = rank
            findings.extend(_rank_memory(node, entry, need_gb))
    if len(kinds) > 1:
        findings.append(finding("cluster-device-error", Status.FAIL,
                                f"the ranks do not use one kind of device ({', '.join(sorted(map(str, kinds)))}): "
                                "the collective test fell back to gloo on the CPU"))
    if not any(f.status is Status.FAIL and f.id == "cluster-device-error" for f in findings):
        kind = next(iter(kinds)) if len(kinds) == 1 else "mixed"
        no_bf16 = [str(e.get("rank")) for n in nodes for e in n.entries
                   if (e.get("device") or {}).get("bf16") is False]
        bf16 = (f" (no native bfloat16 on rank{'s' * (len(no_bf16) != 1)} {', '.join(no_bf16)}: "
                "train in fp16 there)") if no_bf16 and kind == "cuda" else ""
        findings.append(finding("cluster-device-error", Status.PASS,
                                f"every rank has its own {kind} device{bf16}"))
    return findings


def _node_gpu_count(node: Node) -> list[Finding]:
    devices = [e.get("device") or {} for e in node.entries]
    if not devices or devices[0].get("type") == "cpu":
        return []
    visible = max(int(d.get("visible") or 0) for d in devices)
    ranks = len(node.entries)
    cvd = node.entries[0].get("cuda_visible_devices")
    where = f" (CUDA_VISIBLE_DEVICES={cvd!r})" if cvd is not None else ""
    if ranks > visible:
        return [finding("cluster-gpu-count-mismatch", Status.FAIL,
                        f"{node.label} runs {ranks} ranks but only {visible} GPU"
                        f"{'s' * (visible != 1)} are visible{where}", subject=node.label,
                        observed=visible, expected=ranks)]
    if ranks < visible:
        return [finding("cluster-gpu-count-mismatch", Status.WARN,
                        f"{node.label} runs {ranks} rank{'s' * (ranks != 1)} for {visible} visible "
                        f"GPUs{where}: {visible - ranks} stay idle", subject=node.label,
                        observed=visible, expected=ranks,
                        fix=f"--nproc-per-node {visible}, or CUDA_VISIBLE_DEVICES with the GPUs to use")]
    return [finding("cluster-gpu-count-mismatch", Status.PASS,
                    f"{node.label}: one rank per visible GPU ({visible})", subject=node.label)]


def _rank_memory(node: Node, entry: dict[str, Any], need_gb: float | None) -> list[Finding]:
    device = entry.get("device") or {}
    total, free = device.get("total_mib"), device.get("free_mib")
    if need_gb is None or total is None:
        return []
    need = int(need_gb * 1024)
    who = f"rank {entry.get('rank')} on {node.label}: {device.get('name')}"
    if total < need:
        return [finding("vram-insufficient", Status.FAIL,
                        f"{who} has {total} MiB; the recipe needs {need_gb:g} GB per GPU",
                        subject=f"rank {entry.get('rank')}", observed=total, expected=need)]
    if free is not None and free < need:
        return [finding("gpu-memory-in-use", Status.WARN,
                        f"{who} has {free} MiB free of {total} MiB; the recipe needs {need_gb:g} GB",
                        subject=f"rank {entry.get('rank')}", observed=free, expected=need)]
    return []


# ---------------------------------------------------------------- the collective


def judge_collective(collective: dict[str, Any] | None, entries: list[dict[str, Any]],
                     timeout: float) -> list[Finding]:
    if not collective:
        return []
    findings = []
    error = collective.get("error")
    if error:
        missing = collective.get("missing_ranks") or []
        text = error.get("message") or ""
        op = (error.get("stage") or "").split(":", 1)[-1]
        if missing or "timed out" in text.lower() or "timeout" in text.lower():
            named = ", ".join(rank_label(r, entries) for r in missing) or "a rank the store cannot name"
            findings.append(finding(
                "cluster-collective-timeout", Status.FAIL,
                f"{op} on {collective.get('backend')} did not complete within {timeout:g} s: "
                f"{named} never reached it", subject=op, observed=missing, details=[text]))
        else:
            findings.append(finding("cluster-collective-failed", Status.FAIL,
                                    f"{op} on {collective.get('backend')} failed: {text}",
                                    subject=op, observed=text))
    for result in collective.get("results") or []:
        op = result.get("operation")
        if result.get("correct") is False:
            findings.append(finding("cluster-collective-failed", Status.FAIL,
                                    f"{op} on {collective.get('backend')} returned wrong values",
                                    subject=op, observed=False, expected=True))
            continue
        findings.append(finding(
            "cluster-collective-failed", Status.PASS,
            f"{op} of {_size(result.get('size_bytes'))} over {len(entries)} rank"
            f"{'s' * (len(entries) != 1)} ({collective.get('backend')}, {collective.get('device')}): "
            f"{result['time_s'] * 1000:.2f} ms, algbw {result['algbw_gbps']:.2f} GB/s, "
            f"busbw {result['busbw_gbps']:.2f} GB/s", subject=op,
            observed={k: result.get(k) for k in ("time_s", "algbw_gbps", "busbw_gbps")}))
    return findings


def _size(size: int | None) -> str:
    if not size:
        return "?"
    return f"{size / MIB:g} MiB" if size >= MIB else f"{size} B"


# ---------------------------------------------------------------- every node against the recipe


def judge_nodes(nodes: list[Node], recipe: Any, catalogue: Any) -> list[Finding]:
    """The recipe's checks on every node; one finding where nodes agree, one per node where not."""
    from csm_doctor.evaluate import evaluate

    per_node: list[tuple[Node, list[Finding]]] = []
    findings: list[Finding] = []
    for node in nodes:
        if node.facts is None:
            findings.append(finding("cluster-worker-failed", Status.ERROR,
                                    f"{node.label} sent no facts: its checks were not run",
                                    subject=node.label))
            continue
        per_node.append((node, evaluate(node.facts, recipe, catalogue)))
    keyed: dict[tuple, list[tuple[Node, Finding]]] = defaultdict(list)
    for node, node_findings in per_node:
        for f in node_findings:
            keyed[(f.check, f.id, f.subject)].append((node, f))
    for members in keyed.values():
        same = len({(f.status, f.title) for _, f in members}) == 1 and len(members) == len(per_node)
        if same or len(per_node) == 1:
            findings.append(members[0][1])
            continue
        for node, f in members:
            f.title = f"{node.label}: {f.title}"
            findings.append(f)
    return findings


def judge_cluster(run: Any, recipe: Any, catalogue: Any) -> tuple[list[Node], list[Finding]]:
    """Every verdict on one cluster run, most important first."""
    findings = judge_join(run)
    best = run.best or {}
    nodes = nodes_of(best.get("entries") or [])
    findings += judge_nodes(nodes, recipe, catalogue)
    findings += judge_skew(nodes, recipe)
    findings += judge_devices(nodes, recipe) if nodes else []
    findings += judge_collective(best.get("collective"), best.get("entries") or [],
                                 run.options.collective_timeout)
    return nodes, sort_findings(findings)
