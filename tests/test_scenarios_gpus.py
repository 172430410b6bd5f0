"""Several GPUs on one machine, as facts documents: VRAM on the GPUs the job uses, free
memory, CUDA_VISIBLE_DEVICES, /dev/shm and the NCCL variables (issue 13)."""

from __future__ import annotations

from typing import Any

from test_scenarios import BASE, judge, machine

from csm_doctor.findings import Status

H100 = dict(BASE["nvidia"]["gpus"][0])
GTX1060 = {"index": 1, "name": "NVIDIA GeForce GTX 1060 6GB", "memory_total_mib": 6144,
           "memory_used_mib": 2, "memory_free_mib": 6000, "compute_capability": "6.1",
           "bus_id": "00000000:65:00.0"}


def gpus(*cards: dict[str, Any], env: dict[str, str] | None = None, **nvidia: Any) -> dict[str, Any]:
    return machine(nvidia={"gpus": [dict(c) for c in cards], **nvidia},
                   env={**BASE["env"], **(env or {})})


def by_check(findings, check: str):
    return [f for f in findings if f.check == check]


def test_training_recipe_judges_the_smallest_gpu_not_the_largest():
    # An H100 with 80 of 81.5 GB used next to a 6 GB GTX 1060: max() passed songbloom's 15 GB.
    busy = {**H100, "memory_used_mib": 80000, "memory_free_mib": 1500,
            "processes": [{"pid": 4242, "memory_mib": 79990}]}
    findings = judge(gpus(busy, GTX1060), "songbloom-lora")
    vram = by_check(findings, "vram")
    assert [(f.id, f.status) for f in vram] == [("vram-insufficient", Status.FAIL)]
    assert "GTX 1060" in vram[0].title and "smallest GPU" in vram[0].title
    assert vram[0].observed == 6144
    free = by_check(findings, "gpu-free-memory")
    assert [(f.id, f.status) for f in free] == [("gpu-memory-in-use", Status.WARN)]
    assert "1500 MiB free" in free[0].title and free[0].details == ["pid 4242: 79990 MiB"]


def test_single_gpu_recipe_judges_cuda_0_and_points_at_the_big_one():
    small = {**GTX1060, "index": 0, "name": "NVIDIA GeForce GT 1030", "memory_total_mib": 2048,
             "memory_free_mib": 2000}
    big = {**H100, "index": 1}
    findings = judge(gpus(small, big))
    vram = by_check(findings, "vram")
    assert [f.status for f in vram] == [Status.FAIL]
    assert "GT 1030" in vram[0].title and vram[0].fix.startswith("CUDA_VISIBLE_DEVICES=1 ")
    # The same machine with the big GPU chosen passes.
    chosen = judge(gpus(small, big, env={"CUDA_VISIBLE_DEVICES": "1"}))
    assert [f.status for f in by_check(chosen, "vram")] == [Status.PASS]


def test_free_memory_passes_on_an_idle_gpu():
    findings = judge(BASE)
    assert [f.status for f in by_check(findings, "gpu-free-memory")] == [Status.PASS]
    assert [f.status for f in by_check(findings, "cuda-visible-devices")] == [Status.SKIP]


def test_empty_cuda_visible_devices_is_named_not_a_torch_build_warning():
    facts = gpus(H100, env={"CUDA_VISIBLE_DEVICES": ""})
    facts["torch"].update(cuda_available=False, device_count=0, devices=[])
    findings = judge(facts)
    cvd = by_check(findings, "cuda-visible-devices")
    assert [(f.id, f.status) for f in cvd] == [("cuda-visible-devices-hides-gpus", Status.FAIL)]
    assert "hides all 1 GPU" in cvd[0].title
    assert [f.status for f in findings if f.id == "torch-cpu-build"] == [Status.SKIP]
    # Without the variable the same torch facts are the driver warning they were.
    plain = gpus(H100)
    plain["torch"].update(cuda_available=False, device_count=0, devices=[])
    assert [f.status for f in judge(plain) if f.id == "torch-cpu-build"] == [Status.WARN]


def test_cuda_visible_devices_hiding_and_renumbering():
    hidden = by_check(judge(gpus(H100, GTX1060, env={"CUDA_VISIBLE_DEVICES": "1"})),
                      "cuda-visible-devices")
    assert [f.status for f in hidden] == [Status.WARN]
    assert "shows 1 of 2 GPUs" in hidden[0].title and "GPU 0" in hidden[0].details[0]
    swapped = by_check(judge(gpus(H100, GTX1060, env={"CUDA_VISIBLE_DEVICES": "1,0"})),
                       "cuda-visible-devices")
    assert [f.status for f in swapped] == [Status.WARN] and "renumbers" in swapped[0].title
    assert "cuda:0 = GPU 1" in swapped[0].title
    plain = by_check(judge(gpus(H100, GTX1060, env={"CUDA_VISIBLE_DEVICES": "0,1"})),
                     "cuda-visible-devices")
    assert [f.status for f in plain] == [Status.PASS]


def test_docker_default_shm_fails_a_multi_gpu_training_recipe():
    facts = gpus(H100, {**H100, "index": 1})
    facts["shm"] = {"path": "/dev/shm", "total_mib": 64, "free_mib": 64}
    shm = [f for f in judge(facts, "songbloom-lora") if f.id == "shm-too-small"]
    assert [f.status for f in shm] == [Status.FAIL] and "64 MiB" in shm[0].title
    single = machine(shm={"path": "/dev/shm", "total_mib": 64, "free_mib": 64})
    assert [f.status for f in judge(single) if f.id == "shm-too-small"] == [Status.WARN]
    roomy = machine(shm={"path": "/dev/shm", "total_mib": 32000, "free_mib": 32000})
    assert [f.status for f in judge(roomy) if f.id == "shm-too-small"] == [Status.PASS]


def test_nccl_variables_that_turn_transports_off():
    findings = judge(gpus(H100, env={"NCCL_P2P_DISABLE": "1", "NCCL_SOCKET_IFNAME": "eth0",
                                     "NCCL_DEBUG": "INFO"}))
    nccl = [f for f in findings if f.id == "nccl-transport-disabled"]
    assert [f.status for f in nccl] == [Status.WARN]
    assert "NCCL_P2P_DISABLE=1" in nccl[0].title and "NCCL_SOCKET_IFNAME=eth0" in nccl[0].details[0]
    quiet = judge(gpus(H100, env={"NCCL_DEBUG": "INFO"}))
    assert [f.status for f in quiet if f.id == "nccl-transport-disabled"] == [Status.PASS]
