"""The `cluster --json` object (schema csm-doctor/cluster/1): nodes, ranks, collective, findings."""

from __future__ import annotations

from typing import Any

from csm_doctor.findings import Finding, exit_code_for

RESULT_FILE = "result.json"  # under -o DIR; what `csm-doctor report --cluster-result` bundles


def cluster_document(run: Any, nodes: list[Any], findings: list[Finding], recipe: Any,
                     reason: str | None) -> dict[str, Any]:
    """The contract's object; `run` is a runner.NodeRun, `nodes` judge.Node objects."""
    from csm_doctor.render.json_out import envelope, summary
    from csm_doctor.smoke.runner import redact

    best = run.best or {}
    entries = best.get("entries") or []
    identity = best.get("identity") or run.identity
    launch = run.options.launch
    failed = not entries or best.get("error")
    return envelope(
        "cluster",
        launcher=run.launcher or "torch.distributed.run",
        recipe={"id": recipe.id, "title": recipe.title, "selected": "auto" if reason else "given",
                "reason": reason},
        world_size=identity.get("world_size") if run.launcher or entries else
        launch.nnodes * launch.nproc_per_node,
        this_node={"node_rank": identity.get("node_rank"), "rank": identity.get("rank")},
        nodes=[{"node_rank": n.node_rank, "host": n.host, "ranks": [e.get("rank") for e in n.entries],
                "versions": n.versions, "facts": n.facts} for n in nodes],
        ranks=[{k: e.get(k) for k in ("rank", "local_rank", "node_rank", "host",
                                       "cuda_visible_devices", "device")} for e in entries],
        collective=best.get("collective"),
        timeouts={"join_s": run.options.join_timeout, "collective_s": run.options.collective_timeout},
        launcher_output=[redact(line) for line in run.finished.stderr.splitlines()[-40:]]
        if failed else [],
        findings=[f.to_json() for f in findings], summary=summary(findings),
        exit_code=exit_code_for(findings))
