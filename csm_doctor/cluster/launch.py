"""Who started us, and how to start torch.distributed.run when nobody did.

csm-doctor never launches ranks or moves bytes itself: under torchrun (or
`python -m torch.distributed.run`) the variables are already there; under
Slurm's srun they are derived from SLURM_*; without a launcher, the target's
own torch.distributed.run is started with torchrun's options and a join
timeout. Every process started here ends within its deadline: the launcher
gets SIGTERM (so it stops its workers), then its group and every descendant
seen get SIGKILL.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from typing import Mapping

DEFAULT_MASTER_PORT = 29500
TERM_GRACE_S = 5.0
TORCHRUN_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK")


def launcher_of(environ: Mapping[str, str]) -> str | None:
    """"torchrun" when its variables are set, "srun" for a Slurm step without them, else None."""
    if all(environ.get(name) for name in TORCHRUN_VARS):
        return "torchrun"
    if environ.get("SLURM_PROCID") and environ.get("SLURM_NTASKS") and \
            (environ.get("SLURM_STEP_ID") or environ.get("SLURM_STEPID")):
        return "srun"
    return None


def first_host(nodelist: str) -> str | None:
    """The first host of a Slurm node list: "gpu[03-04,07],cpu1" -> "gpu03"."""
    match = re.match(r"\s*([^,\[\s]+)(?:\[([^\],\-]+))?", nodelist or "")
    if not match:
        return None
    return match.group(1) + (match.group(2) or "")


def slurm_tasks_on_node(value: str | None) -> int | None:
    """SLURM_TASKS_PER_NODE's first count: "4(x2),2" -> 4."""
    match = re.match(r"\s*(\d+)", value or "")
    return int(match.group(1)) if match else None


def worker_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The torch.distributed variables a worker needs, from torchrun's or srun's.

    Under torchrun they are inherited unchanged; under srun they are mapped the
    way PyTorch's Slurm examples do (MASTER_ADDR: the first host of the job
    unless set).
    """
    if launcher_of(environ) != "srun":
        return {}
    nodelist = environ.get("SLURM_STEP_NODELIST") or environ.get("SLURM_JOB_NODELIST") or \
        environ.get("SLURM_NODELIST") or ""
    local_world = environ.get("SLURM_NTASKS_PER_NODE") or \
        str(slurm_tasks_on_node(environ.get("SLURM_STEP_TASKS_PER_NODE") or
                                environ.get("SLURM_TASKS_PER_NODE")) or 1)
    return {
        "RANK": environ["SLURM_PROCID"], "WORLD_SIZE": environ["SLURM_NTASKS"],
        "LOCAL_RANK": environ.get("SLURM_LOCALID", "0"), "LOCAL_WORLD_SIZE": local_world,
        "GROUP_RANK": environ.get("SLURM_NODEID", "0"),
        "MASTER_ADDR": environ.get("MASTER_ADDR") or first_host(nodelist) or "127.0.0.1",
        "MASTER_PORT": environ.get("MASTER_PORT") or str(DEFAULT_MASTER_PORT),
    }


@dataclass
class LaunchOptions:
    """torchrun's own options, for a run that starts torch.distributed.run itself."""

    nnodes: int = 1
    node_rank: int = 0
    nproc_per_node: int = 1
    master_addr: str | None = None
    master_port: int | None = None
    join_timeout: float = 120.0
    spent: float = 0.0  # seconds of the join timeout already used (probing this node)

    @property
    def join_left(self) -> float:
        """What is left of the join timeout for the rendezvous itself (never under 5 s)."""
        return max(5.0, self.join_timeout - self.spent)


def torchrun_argv(python: str, options: LaunchOptions, script: str, config: str) -> list[str]:
    """`python -m torch.distributed.run ...`: standalone for one node, else the static rendezvous.

    The static rendezvous is the one --node-rank/--master-addr/--master-port
    describe; its `timeout` (rdzv-conf) is how long node 0 waits for the others.
    """
    argv = [python, "-I", "-u", "-m", "torch.distributed.run", "--nproc-per-node",
            str(options.nproc_per_node), "--max-restarts", "0", "--monitor-interval", "0.5"]
    if options.nnodes == 1 and not options.master_addr:
        argv += ["--standalone", "--nnodes", "1"]
    else:
        argv += ["--nnodes", str(options.nnodes), "--node-rank", str(options.node_rank),
                 "--master-addr", options.master_addr or "127.0.0.1",
                 "--master-port", str(options.master_port or DEFAULT_MASTER_PORT),
                 "--rdzv-backend", "static", "--rdzv-conf", f"timeout={max(5, int(options.join_left))}"]
    return argv + [script, config]


@dataclass
class Finished:
    """How a started process ended: its exit code (None if killed), its output tails."""

    returncode: int | None
    timed_out: bool
    stdout: str
    stderr: str


def run_bounded(argv: list[str], env: dict[str, str], timeout: float) -> Finished:
    """Run `argv` through csm-doctor's process runner; past `timeout` stop it (SIGTERM, so
    torchrun stops its workers, then SIGKILL for the group and every descendant)."""
    from csm_doctor.process import ShuttingDown, finish, spawn, stop_process_tree

    try:
        proc = spawn(argv, env=env)
    except (OSError, ShuttingDown) as exc:
        return Finished(None, False, "", f"cannot start {argv[0]}: "
                        f"{getattr(exc, 'strerror', None) or exc}")
    try:
        out, err = proc.communicate(timeout=timeout)
        return Finished(proc.returncode, False, _text(out), _text(err))
    except subprocess.TimeoutExpired:
        stop_process_tree(proc, TERM_GRACE_S)
        out, err = _drain(proc)
        return Finished(None, True, _text(out), _text(err))
    finally:  # Ctrl-C too: the session of its own would not see it
        if proc.poll() is None:
            stop_process_tree(proc, TERM_GRACE_S)
        finish(proc)


def _drain(proc: subprocess.Popen) -> tuple[bytes, bytes]:
    try:
        out, err = proc.communicate(timeout=2)
        return out or b"", err or b""
    except (subprocess.TimeoutExpired, ValueError, OSError):
        return b"", b""


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", errors="replace")


def inherited_env(extra: Mapping[str, str]) -> dict[str, str]:
    return {**os.environ, "PYTHONIOENCODING": "utf-8", "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1", **extra}
