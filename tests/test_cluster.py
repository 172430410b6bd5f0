"""`csm-doctor cluster`: real torch.distributed with gloo on this CPU, real launchers, real ports.

The end-to-end tests run the CPU torch wheel in throwaway venvs: torchrun with two
ranks, two "nodes" on 127.0.0.1 whose environments differ in one package, and a
node 0 whose partner never comes. Pure parts (the Slurm mapping, the verdicts)
are tested on their own below.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import psutil
import pytest
from conftest import ROOT
from fix_support import make_base_venv, pip_install, write_recipe, write_wheel

from csm_doctor.cluster import judge
from csm_doctor.cluster.launch import (
    LaunchOptions,
    first_host,
    launcher_of,
    torchrun_argv,
    worker_env,
)
from csm_doctor.findings import Status
from csm_doctor.recipe import load_recipe

SKEW_PACKAGE = "cluster-skew-probe"


# ---------------------------------------------------------------- pure parts


def test_slurm_variables_become_torch_distributed_ones():
    env = {"SLURM_PROCID": "5", "SLURM_NTASKS": "8", "SLURM_LOCALID": "1", "SLURM_NODEID": "1",
           "SLURM_STEP_ID": "0", "SLURM_JOB_NODELIST": "gpu[03-04,07]",
           "SLURM_TASKS_PER_NODE": "4(x2)"}
    assert launcher_of(env) == "srun"
    mapped = worker_env(env)
    assert mapped == {"RANK": "5", "WORLD_SIZE": "8", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "4",
                      "GROUP_RANK": "1", "MASTER_ADDR": "gpu03", "MASTER_PORT": "29500"}
    # torchrun's own variables win; a batch script without a step is no launcher.
    assert launcher_of({**env, "RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "0"}) == "torchrun"
    assert launcher_of({"SLURM_PROCID": "0", "SLURM_NTASKS": "2"}) is None
    assert first_host("node1,node2") == "node1" and first_host("a[1-2]") == "a1"


def test_own_launch_passes_the_join_timeout_to_the_rendezvous():
    argv = torchrun_argv("/py", LaunchOptions(nnodes=2, node_rank=1, nproc_per_node=4,
                                              master_addr="10.0.0.1", master_port=1234,
                                              join_timeout=30, spent=4), "w.py", "c.json")
    text = " ".join(argv)
    assert "-m torch.distributed.run" in text and "--rdzv-backend static" in text
    assert "--rdzv-conf timeout=26" in text and "--node-rank 1" in text
    assert "--master-addr 10.0.0.1 --master-port 1234" in text and argv[-2:] == ["w.py", "c.json"]
    assert "--standalone" in torchrun_argv("/py", LaunchOptions(), "w.py", "c.json")


def entry(rank, node, host, *, facts=None, device=None, torch="2.4.0+cu124", nccl="2.20.5"):
    return {"rank": rank, "node_rank": node, "host": host, "local_rank": rank % 2,
            "facts": facts, "cuda_visible_devices": None,
            "device": device or {"type": "cuda", "visible": 2, "index": rank % 2,
                                 "name": "NVIDIA A100-SXM4-40GB", "uuid": f"GPU-{node}-{rank % 2}",
                                 "total_mib": 40960, "free_mib": 40000},
            "versions": {"torch": torch, "cuda": "12.4", "nccl": nccl, "python": "3.11.9"}}


def test_skew_names_the_component_and_both_versions():
    recipe = load_recipe("cosyvoice2-lora")
    a = {"nvidia": {"driver_version": "550.90.07"}, "packages": {"transformers": "4.51.3"}}
    b = {"nvidia": {"driver_version": "550.90.07"}, "packages": {"transformers": "4.45.0"}}
    nodes = judge.nodes_of([entry(0, 0, "n0", facts=a), entry(1, 0, "n0"),
                            entry(2, 1, "n1", facts=b, nccl="2.21.5"), entry(3, 1, "n1", nccl="2.21.5")])
    skew = {f.subject: f for f in judge.judge_skew(nodes, recipe)}
    assert set(skew) == {"NCCL", "transformers"}
    assert skew["transformers"].status is Status.FAIL
    assert "4.51.3 on node 0 (n0), 4.45.0 on node 1 (n1)" in skew["transformers"].title


def test_ranks_beyond_the_visible_gpus_and_a_shared_gpu():
    recipe = load_recipe("cosyvoice2-lora")
    crowded = [entry(r, 0, "n0") for r in range(3)]
    crowded[2]["device"] = {"type": "cuda", "visible": 2, "error": "LOCAL_RANK 2 but only 2 CUDA "
                                                                    "device(s) are visible"}
    crowded[1]["device"]["uuid"] = crowded[0]["device"]["uuid"]
    findings = judge.judge_devices(judge.nodes_of(crowded), recipe)
    fails = {(f.id, f.title) for f in findings if f.status is Status.FAIL}
    assert ("cluster-gpu-count-mismatch", "node 0 (n0) runs 3 ranks but only 2 GPUs are visible") in fails
    assert any("LOCAL_RANK 2" in t for i, t in fails if i == "cluster-device-error")
    assert any("share one GPU" in t for i, t in fails if i == "cluster-device-error")


def test_small_or_busy_gpu_named_by_rank():
    recipe = load_recipe("cosyvoice2-lora")  # 15 GB per GPU
    ranks = [entry(0, 0, "n0"), entry(1, 0, "n0")]
    ranks[1]["device"].update(name="Tesla T4", total_mib=15360, free_mib=2000)
    findings = judge.judge_devices(judge.nodes_of(ranks), recipe)
    busy = [f for f in findings if f.id == "gpu-memory-in-use"]
    assert [f.status for f in busy] == [Status.WARN] and "rank 1 on node 0 (n0)" in busy[0].title


def test_collective_timeout_names_the_missing_rank_and_its_node():
    entries = [entry(0, 0, "n0"), entry(1, 1, "n1")]
    collective = {"backend": "nccl", "results": [], "missing_ranks": [1], "waiting_ranks": [0],
                  "error": {"stage": "collective:all_reduce", "message": "Timed out waiting 5000ms"}}
    [f] = judge.judge_collective(collective, entries, 5)
    assert f.id == "cluster-collective-timeout" and f.status is Status.FAIL
    assert "rank 1 (node 1, n1) never reached it" in f.title and "within 5 s" in f.title
    wrong = {"backend": "gloo", "device": "cpu", "results": [
        {"operation": "all_reduce", "correct": False, "size_bytes": 8}]}
    assert [(f.id, f.status) for f in judge.judge_collective(wrong, entries, 5)] == \
        [("cluster-collective-failed", Status.FAIL)]


def test_system_probe_records_nccl_variables_and_shm(monkeypatch):
    from csm_doctor.probes.base import ProbeContext
    from csm_doctor.probes.system import probe_system

    monkeypatch.setenv("NCCL_P2P_DISABLE", "1")
    monkeypatch.setenv("MASTER_ADDR", "10.1.2.3")
    monkeypatch.setenv("WORLD_SIZE", "8")
    facts = probe_system(ProbeContext(python=sys.executable, offline=True))
    assert facts["env"]["NCCL_P2P_DISABLE"] == "1" and facts["env"]["MASTER_ADDR"] == "10.1.2.3"
    assert facts["env"]["WORLD_SIZE"] == "8"
    if sys.platform.startswith("linux"):
        assert facts["shm"]["total_mib"] > 0


def test_bad_launch_options_are_exit_2(run_cli):
    run = run_cli("cluster", "--nnodes", "2", "--json")
    assert run.code == 2 and "--master-addr" in run.stderr
    assert run_cli("cluster", "--node-rank", "3", "--nnodes", "2").code == 2


# ---------------------------------------------------------------- end to end


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def light_venv(torch_python: Path, prefix: Path, wheels: Path, *requirements: str) -> Path:
    """A venv of its own (for its own packages) that imports torch from the shared torch venv."""
    python = make_base_venv(prefix)
    torch_site = subprocess.run([str(torch_python), "-c", "import sysconfig;"
                                 "print(sysconfig.get_paths()['purelib'])"], capture_output=True,
                                text=True, check=True, timeout=60).stdout.strip()
    own_site = subprocess.run([str(python), "-c", "import sysconfig;"
                               "print(sysconfig.get_paths()['purelib'])"], capture_output=True,
                              text=True, check=True, timeout=60).stdout.strip()
    Path(own_site, "shared-torch.pth").write_text(torch_site + "\n", encoding="utf-8")
    if requirements:
        pip_install(python, wheels, *requirements)
    return python


@pytest.fixture
def cluster_env(cli_env, tmp_path):
    """The CLI's environment, gloo on the loopback, and a TMPDIR of this test's own."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    return {**cli_env, "GLOO_SOCKET_IFNAME": "lo", "TMPDIR": str(tmp),
            "CSM_DOCTOR_TIMEOUT_SCALE": "3"}


@pytest.fixture
def cluster_recipe(tmp_path):
    # torch is not a recipe package here: the workers see csm-doctor's own venv on PYTHONPATH
    # (its setuptools 65 beside torch 2.13's >= 77.0.3 requirement), which check would rightly
    # fail as package-dependency-broken for a recipe package.
    return write_recipe(tmp_path, [{"name": SKEW_PACKAGE}], rid="cluster-test")


def leftovers(marker: str) -> list[str]:
    """Processes still running whose command line mentions this test's folder."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            if any(marker in part for part in proc.info["cmdline"] or []):
                found.append(f"{proc.info['pid']}: {' '.join(proc.info['cmdline'])}")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def cluster_findings(doc, status=None):
    return [f for f in doc["findings"] if f["group"] == "cluster" and status in (None, f["status"])]


@pytest.mark.slow
def test_torchrun_standalone_two_ranks(torch_venv, cluster_env, tmp_path):
    wheels = tmp_path / "wheels"
    write_wheel(wheels, SKEW_PACKAGE, "1.0")
    target = light_venv(torch_venv, tmp_path / "target", wheels, f"{SKEW_PACKAGE}==1.0")
    recipe = write_recipe(tmp_path, [{"name": SKEW_PACKAGE}], rid="cluster-test")  # as above
    # `torchrun -m csm_doctor`: csm-doctor (and its dependencies) importable in the launcher's
    # interpreter, the target's torch used by the workers.
    doctor_site = sysconfig.get_paths()["purelib"]
    env = {**cluster_env, "PYTHONPATH": os.pathsep.join([str(ROOT), doctor_site])}
    proc = subprocess.run([str(target), "-m", "torch.distributed.run", "--standalone",
                           "--nproc-per-node=2", "-m", "csm_doctor", "cluster", "--json",
                           "--offline", "--recipe", str(recipe), "--size-mb", "8"],
                          capture_output=True, text=True, env=env, timeout=240, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "csm-doctor/cluster/1" and doc["launcher"] == "torchrun"
    assert doc["world_size"] == 2 and doc["exit_code"] == 0
    assert [r["rank"] for r in doc["ranks"]] == [0, 1]
    assert doc["nodes"][0]["facts"]["packages"][SKEW_PACKAGE] == "1.0"
    collective = doc["collective"]
    assert collective["backend"] == "gloo" and collective["error"] is None
    ops = {r["operation"]: r for r in collective["results"]}
    assert set(ops) == {"all_reduce", "all_gather"}
    for result in ops.values():
        assert result["correct"] is True and result["size_bytes"] == 8 * 1024 * 1024
        assert result["busbw_gbps"] > 0 and result["algbw_gbps"] >= result["busbw_gbps"]
    assert ops["all_reduce"]["busbw_gbps"] == pytest.approx(ops["all_reduce"]["algbw_gbps"])
    passed = {f["subject"] for f in cluster_findings(doc, "pass") if f["id"] == "cluster-collective-failed"}
    assert passed == {"all_reduce", "all_gather"}


@pytest.mark.slow
def test_two_nodes_with_another_package_version_are_skew(torch_venv, cluster_env, cluster_recipe,
                                                         tmp_path):
    wheels = tmp_path / "wheels"
    write_wheel(wheels, SKEW_PACKAGE, "1.0")
    write_wheel(wheels, SKEW_PACKAGE, "2.0")
    node0 = light_venv(torch_venv, tmp_path / "node0", wheels, f"{SKEW_PACKAGE}==1.0")
    node1 = light_venv(torch_venv, tmp_path / "node1", wheels, f"{SKEW_PACKAGE}==2.0")
    port = free_port()
    common = ["--nnodes", "2", "--nproc-per-node", "1", "--master-addr", "127.0.0.1",
              "--master-port", str(port), "--join-timeout", "60", "--offline", "--json",
              "--recipe", str(cluster_recipe), "--size-mb", "1"]
    procs = [subprocess.Popen([sys.executable, "-m", "csm_doctor", "cluster", "--node-rank", str(rank),
                               "--python", str(python), *common], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=cluster_env, cwd=tmp_path)
             for rank, python in ((0, node0), (1, node1))]
    outputs = [p.communicate(timeout=240) for p in procs]
    docs = [json.loads(out) for out, _ in outputs]
    for doc in docs:  # every node judges the same gathered facts
        assert doc["world_size"] == 2 and [n["node_rank"] for n in doc["nodes"]] == [0, 1]
        skew = [f for f in cluster_findings(doc) if f["id"] == "cluster-version-skew"
                and f["subject"] == SKEW_PACKAGE]
        assert [f["status"] for f in skew] == ["fail"], outputs
        assert "1.0 on node 0" in skew[0]["title"] and "2.0 on node 1" in skew[0]["title"]
        assert doc["exit_code"] == 1
    assert [p.returncode for p in procs] == [1, 1]
    assert all(r["correct"] for r in docs[0]["collective"]["results"])


@pytest.mark.slow
def test_node_that_never_comes_is_named_within_the_join_timeout(torch_venv, cluster_env, tmp_path):
    port = free_port()
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "csm_doctor", "cluster", "--nnodes", "2",
                           "--node-rank", "0", "--nproc-per-node", "1", "--master-addr", "127.0.0.1",
                           "--master-port", str(port), "--join-timeout", "20", "--json", "--offline",
                           "--python", str(torch_venv)], capture_output=True, text=True,
                          env=cluster_env, timeout=120, cwd=tmp_path)
    elapsed = time.monotonic() - started
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert elapsed < 20 + 8, elapsed
    doc = json.loads(proc.stdout)
    missing = [f for f in doc["findings"] if f["id"] == "cluster-node-missing"]
    assert [f["status"] for f in missing] == ["fail"]
    assert "node 1 never joined" in missing[0]["title"] and "within 20 s" in missing[0]["title"]
    assert leftovers(cluster_env["TMPDIR"]) == []
    with socket.socket() as sock:  # the rendezvous port is free again
        sock.bind(("127.0.0.1", port))


def test_report_bundles_a_cluster_result(run_cli, tmp_path):
    from conftest import FIXTURES

    result = {"schema": "csm-doctor/cluster/1", "world_size": 2, "nodes": [], "ranks": [],
              "collective": {"backend": "gloo", "results": []}, "findings": [], "exit_code": 0}
    saved = tmp_path / "cluster.json"
    saved.write_text(json.dumps(result), encoding="utf-8")
    out = tmp_path / "bundle"
    run = run_cli("report", "--facts", str(FIXTURES / "facts" / "h100-driver-550-csm-ready.json"),
                  "--recipe", "csm-1b", "--cluster-result", str(saved), "-o", str(out), "--json")
    assert run.code == 0, run.stderr
    assert json.loads((out / "cluster-result.json").read_text())["world_size"] == 2
    assert "cluster-result.json" in (out / "SHA256SUMS").read_text()
    saved.write_text("{}", encoding="utf-8")
    bad = run_cli("report", "--facts", str(FIXTURES / "facts" / "h100-driver-550-csm-ready.json"),
                  "--cluster-result", str(saved), "-o", str(tmp_path / "b2"))
    assert bad.code == 2 and "--cluster-result" in bad.stderr


# ---------------------------------------------------------------- lint: the launch line's GPUs


def test_lint_launch_line_asks_for_more_gpus_than_the_machine_shows(tmp_path):
    from test_lint_support import LINT_FIXTURES, facts_file, run_lint

    train = (LINT_FIXTURES / "songbloom" / "seed004-train-multigpu.sh").read_text(encoding="utf-8")
    script = tmp_path / "run.sh"
    script.write_text(train, encoding="utf-8")

    def gpus_findings(facts: str) -> list[dict]:
        return [f for f in run_lint(str(script), facts_file=facts)["findings"]
                if f["check"] == "lint-songbloom-gpus"]

    two = facts_file(tmp_path / "two.json", torch="2.2.0", env={}, gpu_count=2)
    [fail] = gpus_findings(two)
    assert fail["status"] == "fail" and fail["id"] == "cluster-gpu-count-mismatch"
    assert "--devices 4 but the machine shows 2 GPUs" in fail["title"]
    assert fail["fix"] == "--devices 2" and fail["line"] == 9
    four = facts_file(tmp_path / "four.json", torch="2.2.0", env={}, gpu_count=4)
    assert [f["status"] for f in gpus_findings(four)] == ["pass"]
    hidden = facts_file(tmp_path / "hidden.json", torch="2.2.0", gpu_count=4,
                        env={"CUDA_VISIBLE_DEVICES": "0,1"})
    [fail] = gpus_findings(hidden)
    assert fail["status"] == "fail" and "(CUDA_VISIBLE_DEVICES=0,1)" in fail["title"]
    # torchrun's own count, before the program, is read too.
    script.write_text("torchrun --nproc_per_node=8 train_japanese.py --use-lora\n", encoding="utf-8")
    [fail] = gpus_findings(four)
    assert "--nproc_per_node 8 but the machine shows 4 GPUs" in fail["title"]


@pytest.mark.slow
def test_a_rank_stuck_before_the_collective_is_named(torch_venv, cluster_env, tmp_path):
    env = {**cluster_env, "CSM_DOCTOR_CLUSTER_FAULT": "hang-collective:1"}
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "csm_doctor", "cluster", "--nproc-per-node", "2",
                           "--collective-timeout", "4", "--join-timeout", "60", "--json",
                           "--offline", "--python", str(torch_venv), "--size-mb", "1"],
                          capture_output=True, text=True, env=env, timeout=180, cwd=tmp_path)
    elapsed = time.monotonic() - started
    assert proc.returncode == 1, proc.stderr[-2000:]
    doc = json.loads(proc.stdout)
    [stuck] = [f for f in doc["findings"] if f["id"] == "cluster-collective-timeout"]
    assert stuck["status"] == "fail" and "within 4 s" in stuck["title"]
    assert f"rank 1 (node 0, {doc['ranks'][1]['host']}) never reached it" in stuck["title"]
    assert doc["collective"]["missing_ranks"] == [1]
    assert elapsed < 60, elapsed  # torchrun stops the stuck rank; nobody waits for its deadline
    assert leftovers(cluster_env["TMPDIR"]) == []


def test_human_view_always_shows_the_collective_figures():
    from csm_doctor.commands.cluster import collective_lines

    lines = collective_lines({"backend": "nccl", "device": "cuda", "results": [
        {"operation": "all_reduce", "size_bytes": 2**25, "time_s": 0.002, "algbw_gbps": 16.78,
         "busbw_gbps": 25.17, "correct": True}]})
    assert lines[0].startswith("collective (nccl on cuda")
    assert "all_reduce" in lines[1] and "busbw    25.17 GB/s" in lines[1] and "correct" in lines[1]
    assert collective_lines({"results": [], "error": {"message": "x"}}) == []


def test_device_pass_says_which_ranks_lack_bf16():
    recipe = load_recipe("cosyvoice2-lora")
    ranks = [entry(0, 0, "n0"), entry(1, 0, "n0")]
    ranks[0]["device"]["bf16"] = True
    ranks[1]["device"]["bf16"] = False
    [ok] = [f for f in judge.judge_devices(judge.nodes_of(ranks), recipe)
            if f.id == "cluster-device-error"]
    assert ok.status is Status.PASS and "no native bfloat16 on rank 1" in ok.title


@pytest.mark.slow
def test_ranks_started_as_srun_starts_them(torch_venv, cluster_env, tmp_path):
    """Two csm-doctor processes with the variables srun sets for a 2-task step, no torchrun."""
    port = free_port()
    procs = []
    for rank in (0, 1):
        env = {**cluster_env, "SLURM_PROCID": str(rank), "SLURM_NTASKS": "2",
               "SLURM_LOCALID": str(rank), "SLURM_NODEID": "0", "SLURM_STEP_ID": "0",
               "SLURM_JOB_NODELIST": "localhost", "SLURM_TASKS_PER_NODE": "2",
               "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "csm_doctor", "cluster", "--json", "--offline", "--python",
             str(torch_venv), "--size-mb", "1", "--join-timeout", "60"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path))
    (out0, err0), (out1, _) = [p.communicate(timeout=180) for p in procs]
    assert out1 == "" and procs[1].returncode == 0  # only rank 0 prints the verdict
    doc = json.loads(out0)
    assert doc["launcher"] == "srun" and doc["world_size"] == 2, err0[-2000:]
    assert [r["local_rank"] for r in doc["ranks"]] == [0, 1]
    assert all(r["correct"] for r in doc["collective"]["results"])
    assert doc["nodes"][0]["facts"] is not None
    assert leftovers(cluster_env["TMPDIR"]) == []
