"""`csm-doctor cluster`: check a training cluster through torchrun (or srun), collective included."""

from __future__ import annotations

import os
import time
from typing import Any

import click

from csm_doctor.commands.common import common_probe_options, guarded, recipe_option


@click.command()
@recipe_option
@common_probe_options
@click.option("--nnodes", type=int, default=1, show_default=True,
              help="Without a launcher: the number of nodes (torchrun's --nnodes).")
@click.option("--node-rank", "node_rank", type=int, default=0, show_default=True,
              help="Without a launcher: this node's rank (torchrun's --node-rank).")
@click.option("--nproc-per-node", "nproc_per_node", type=int, default=None,
              help="Without a launcher: ranks on this node (default: the visible GPUs, else 1).")
@click.option("--master-addr", "master_addr", default=None, metavar="HOST",
              help="Without a launcher: node 0's address (needed with --nnodes > 1).")
@click.option("--master-port", "master_port", type=int, default=None, metavar="PORT",
              help="Without a launcher: node 0's rendezvous port (default 29500).")
@click.option("--join-timeout", "join_timeout", type=float, default=120.0, show_default=True,
              metavar="SECONDS", help="How long to wait for every node and rank to join.")
@click.option("--collective-timeout", "collective_timeout", type=float, default=60.0,
              show_default=True, metavar="SECONDS",
              help="How long one collective operation may take before the slow rank is named.")
@click.option("--size-mb", "size_mb", type=float, default=32.0, show_default=True, metavar="MiB",
              help="Buffer size of the all_reduce and all_gather test.")
@click.option("--iterations", type=int, default=5, show_default=True,
              help="Timed repetitions of each operation (after one checked, one warm-up call).")
@click.option("--device", type=click.Choice(["auto", "cuda", "npu", "cpu"]), default="auto",
              show_default=True, help="auto: cuda (nccl), then npu (hccl), then cpu (gloo).")
@click.option("-o", "--output", default=None, metavar="FILE",
              help="Also write the --json object to FILE (for `csm-doctor report --cluster-result`).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the contract).")
@click.option("-v", "--verbose", is_flag=True, help="Show every check, details and figures.")
@click.option("-q", "--quiet", is_flag=True, help="Say nothing on stderr while running.")
@guarded
def cluster(recipe_ref: str | None, python: str | None, offline: bool, level: str, nnodes: int,
            node_rank: int, nproc_per_node: int | None, master_addr: str | None,
            master_port: int | None, join_timeout: float, collective_timeout: float,
            size_mb: float, iterations: int, device: str, output: str | None, as_json: bool,
            verbose: bool, quiet: bool) -> int:
    """Check every node and GPU of a training cluster, and run a collective across them.

    Run it under torchrun / `python -m torch.distributed.run` / srun on every
    node, or alone with torchrun's options (--nnodes, --node-rank,
    --nproc-per-node, --master-addr, --master-port) and it starts the target's
    torch.distributed.run itself. Exit 1 when a required check failed.
    """
    from csm_doctor.cluster.launch import LaunchOptions, launcher_of
    from csm_doctor.cluster.runner import ClusterOptions, local_identity, run_node
    from csm_doctor.commands.common import probe_machine, validate_python
    from csm_doctor.probes.target import default_python
    from csm_doctor.recipe import load_recipe

    started = time.monotonic()
    given = load_recipe(recipe_ref) if recipe_ref else None
    validate_python(python)
    launcher = launcher_of(os.environ)
    validate_launch(nnodes, node_rank, nproc_per_node, master_addr, master_port, join_timeout,
                    collective_timeout, size_mb, iterations, launcher)
    me = local_identity()
    say = (lambda text: None) if (quiet or as_json) else (lambda text: click.echo(text, err=True))
    facts = None
    if me["local_rank"] == 0:
        say(f"csm-doctor: probing node {me['node_rank']}...")
        facts = probe_machine(python, offline, level, given)
    target = os.path.abspath(python) if python else default_python()
    options = ClusterOptions(
        python=target, collective_timeout=collective_timeout,
        size_bytes=int(size_mb * 1024 * 1024), iterations=iterations, device=device,
        launch=LaunchOptions(nnodes=nnodes, node_rank=node_rank,
                             nproc_per_node=nproc_per_node or default_nproc(facts),
                             master_addr=master_addr, master_port=master_port,
                             join_timeout=join_timeout, spent=time.monotonic() - started))
    say(f"csm-doctor: {'rank ' + str(me['rank']) + ' under ' + launcher if launcher else 'starting torch.distributed.run'}"
        f", waiting up to {join_timeout:g} s for every rank...")
    run = run_node(options, facts)
    if launcher and me["rank"] != 0:
        say(f"csm-doctor: rank {me['rank']} done; rank 0 prints the verdict")
        return 0
    return judge_and_show(run, given, facts, output, as_json, verbose)


def judge_and_show(run: Any, given: Any, facts: dict[str, Any] | None, output: str | None,
                   as_json: bool, verbose: bool) -> int:
    """Rank 0 (or every node without a launcher) judges the gathered facts and prints."""
    from csm_doctor.catalogue import shipped_catalogue
    from csm_doctor.cluster.document import cluster_document
    from csm_doctor.cluster.judge import judge_cluster
    from csm_doctor.commands.common import auto_recipe
    from csm_doctor.findings import exit_code_for

    reason = None
    recipe = given
    best = run.best or {}
    node_facts = facts or next((e.get("facts") for e in best.get("entries") or [] if e.get("facts")),
                               None)
    if recipe is None:
        if node_facts is None:
            from csm_doctor.recipe import load_recipe

            recipe, reason = load_recipe("csm-1b"), "no facts reached rank 0"
        else:
            recipe, reason = auto_recipe(node_facts)
    catalogue = shipped_catalogue()
    nodes, findings = judge_cluster(run, recipe, catalogue)
    document = cluster_document(run, nodes, findings, recipe, reason)
    if output:
        write_output(output, document)
    if as_json:
        from csm_doctor.render.json_out import emit

        emit(document)
    else:
        from csm_doctor.render.human import render_check

        click.echo(f"csm-doctor cluster · world size {document['world_size']} on "
                   f"{len(nodes)} node{'s' * (len(nodes) != 1)} "
                   f"({', '.join(f'node {n.node_rank}: {n.host}' for n in nodes) or 'none reported'})")
        why = f"chosen for node 0: {reason} (--recipe ID to choose another)" if reason else None
        render_check(findings, node_facts or {}, recipe, catalogue, verbose=verbose,
                     recipe_reason=why)
        for line in collective_lines(document.get("collective")):
            click.echo(line)
    return exit_code_for(findings)


def collective_lines(collective: dict[str, Any] | None) -> list[str]:
    """The collective's figures, always shown: they are what a person reruns cluster for."""
    results = [r for r in (collective or {}).get("results") or [] if r.get("time_s")]
    if not results:
        return []
    lines = [f"collective ({collective.get('backend')} on {collective.get('device')}, "
             "nccl-tests' algbw/busbw):"]
    for r in results:
        lines.append(f"  {r['operation']:<10} {r['size_bytes'] / 2**20:g} MiB  "
                     f"{r['time_s'] * 1000:9.2f} ms  algbw {r['algbw_gbps']:8.2f} GB/s  "
                     f"busbw {r['busbw_gbps']:8.2f} GB/s  {'correct' if r.get('correct') else 'WRONG'}")
    return lines


def write_output(path: str, document: dict[str, Any]) -> None:
    import json

    from csm_doctor.errors import InputError

    try:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2, default=str)
            handle.write("\n")
    except OSError as exc:
        raise InputError.single(path, f"cannot write: {exc.strerror or exc}", key="--output") from None


def default_nproc(facts: dict[str, Any] | None) -> int:
    """One rank per GPU this node's jobs can see (CUDA_VISIBLE_DEVICES applied), else one."""
    from csm_doctor.rules.nvidia import visible_gpus

    return max(1, len(visible_gpus(facts or {})))


def validate_launch(nnodes: int, node_rank: int, nproc: int | None, master_addr: str | None,
                    master_port: int | None, join_timeout: float, collective_timeout: float,
                    size_mb: float, iterations: int, launcher: str | None) -> None:
    """Bad input is exit 2, named by its option, before anything starts."""
    from csm_doctor.errors import InputError

    def bad(key: str, message: str) -> None:
        raise InputError.single(None, message, key=key)

    if nnodes < 1:
        bad("--nnodes", "must be at least 1")
    if not 0 <= node_rank < nnodes:
        bad("--node-rank", f"must be between 0 and {nnodes - 1} (--nnodes {nnodes})")
    if nproc is not None and nproc < 1:
        bad("--nproc-per-node", "must be at least 1")
    if nnodes > 1 and not master_addr and not launcher:
        bad("--master-addr", "several nodes need node 0's address (torchrun's --master-addr)")
    if master_port is not None and not 1 <= master_port <= 65535:
        bad("--master-port", "must be a TCP port (1-65535)")
    for key, value in (("--join-timeout", join_timeout), ("--collective-timeout", collective_timeout)):
        if not value > 0:
            bad(key, "must be a positive number of seconds")
    if not 0 < size_mb <= 16384:
        bad("--size-mb", "must be between 0 and 16384 MiB")
    if not 1 <= iterations <= 1000:
        bad("--iterations", "must be between 1 and 1000")
