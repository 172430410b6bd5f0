"""One node's part of a cluster check: start the target's workers, collect what they report.

Either a launcher (torchrun, srun) already started this process once per
rank, and it runs the target script once, as its rank; or nobody did, and it
starts the target's torch.distributed.run with torchrun's options. Either way
the workers (csm_doctor/cluster/target_cluster.py, standard library + torch
only) write one JSON file each into a private folder, which is read back here.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from csm_doctor.cluster.launch import (
    LaunchOptions,
    Finished,
    inherited_env,
    launcher_of,
    run_bounded,
    torchrun_argv,
    worker_env,
)

TARGET_SCRIPT = Path(__file__).with_name("target_cluster.py")
OPERATIONS = ("all_reduce", "all_gather")
STARTUP_MARGIN_S = 30.0  # importing torch and the launcher's own start, beyond the two timeouts


@dataclass
class ClusterOptions:
    """What to run: the target interpreter, the launch, the collective's size and timeouts."""

    python: str
    launch: LaunchOptions = field(default_factory=LaunchOptions)
    collective_timeout: float = 60.0
    size_bytes: int = 32 * 1024 * 1024
    iterations: int = 5
    device: str = "auto"

    @property
    def join_timeout(self) -> float:
        return self.launch.join_timeout

    def worker_deadline(self) -> float:
        """How long a worker may live: joining, then each operation under its timeout."""
        return self.launch.join_left + self.collective_timeout * (len(OPERATIONS) + 1) + \
            STARTUP_MARGIN_S


@dataclass
class NodeRun:
    """What this node saw: the launcher used, the rank results read back, how the run ended."""

    launcher: str | None
    identity: dict[str, Any]
    results: list[dict[str, Any]]
    finished: Finished
    options: ClusterOptions

    @property
    def best(self) -> dict[str, Any] | None:
        """The most complete rank result: one that saw every rank, lowest rank first."""
        if not self.results:
            return None
        return max(self.results, key=lambda r: (len(r.get("entries") or []),
                                                -(r.get("identity") or {}).get("rank", 0)))


def local_identity(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """This process's rank as the launcher set it (rank 0 of 1 without a launcher)."""
    environ = dict(os.environ if environ is None else environ)
    environ.update(worker_env(environ))

    def num(name: str, default: int) -> int:
        try:
            return int(environ.get(name, default))
        except ValueError:
            return default

    return {"rank": num("RANK", 0), "world_size": num("WORLD_SIZE", 1),
            "local_rank": num("LOCAL_RANK", 0), "node_rank": num("GROUP_RANK", 0)}


def run_node(options: ClusterOptions, facts: dict[str, Any] | None) -> NodeRun:
    """Run the workers of this node (or this rank, under a launcher) and read their results."""
    launcher = launcher_of(os.environ)
    folder = Path(tempfile.mkdtemp(prefix="csm-doctor-cluster-"))
    try:
        config = {"deadline_s": options.worker_deadline(), "join_timeout": options.launch.join_left,
                  "collective_timeout": options.collective_timeout, "device": options.device,
                  "operations": list(OPERATIONS), "size_bytes": options.size_bytes,
                  "iterations": options.iterations, "result_dir": str(folder),
                  "every_rank": launcher is not None, "facts": facts}
        config_path = folder / "config.json"
        config_path.write_text(json.dumps(config, default=str), encoding="utf-8")
        if launcher:
            argv = [options.python, "-u", str(TARGET_SCRIPT), str(config_path)]
            env = inherited_env(worker_env(os.environ))
            timeout = options.worker_deadline() + 10
        else:
            argv = torchrun_argv(options.python, options.launch, str(TARGET_SCRIPT), str(config_path))
            env = inherited_env({})
            timeout = options.worker_deadline() + STARTUP_MARGIN_S
        with terminate_as_exit():
            finished = run_bounded(argv, env, timeout)
        results = read_results(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return NodeRun(launcher, local_identity(), results, finished, options)


@contextlib.contextmanager
def terminate_as_exit() -> Iterator[None]:
    """SIGTERM (torchrun stopping this rank, srun's cancel) stops the workers too.

    The workers run in a session of their own, so the signal would not reach
    them: it is turned into SystemExit(143), on which run_bounded stops them.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTERM"):
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(143)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def read_results(folder: Path) -> list[dict[str, Any]]:
    out = []
    for path in sorted(folder.glob("rank-*.json")):
        try:
            out.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return out
