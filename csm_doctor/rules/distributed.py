"""Several GPUs on one machine: /dev/shm and the NCCL variables that turn transports off."""

from __future__ import annotations

from typing import Iterable

from csm_doctor.findings import Finding
from csm_doctor.rules.base import RuleContext, rule
from csm_doctor.rules.nvidia import visible_gpus

# Docker's default /dev/shm is 64 MB; PyTorch's DataLoader workers pass batches through it
# and NCCL's SHM transport maps a segment per peer. Below this, several workers fail.
SHM_MIN_MIB = 1024
# Values that switch a transport off; NCCL_SOCKET_IFNAME only pins it, and is noted.
DISABLING = {"NCCL_P2P_DISABLE": "1", "NCCL_IB_DISABLE": "1", "NCCL_SHM_DISABLE": "1",
             "NCCL_NVLS_ENABLE": "0"}
DISABLE_WHAT = {"NCCL_P2P_DISABLE": "GPU peer-to-peer (NVLink/PCIe) copies",
                "NCCL_IB_DISABLE": "InfiniBand/RoCE between nodes",
                "NCCL_SHM_DISABLE": "shared memory between the GPUs of one node",
                "NCCL_NVLS_ENABLE": "NVLink SHARP"}


@rule("shm_size")
def shm_size(ctx: RuleContext) -> Iterable[Finding]:
    if ctx.os_name != "linux":
        yield ctx.skipped("/dev/shm is a Linux limit")
        return
    total = ctx.need("shm.total_mib")
    if total >= SHM_MIN_MIB:
        yield ctx.passed(f"/dev/shm is {total} MiB", observed=total, expected=SHM_MIN_MIB)
    elif len(visible_gpus(ctx.facts)) > 1 or ctx.recipe.hardware.get("multi_gpu"):
        yield ctx.failed(f"/dev/shm is only {total} MiB (a container's default?): NCCL between "
                         "GPUs and DataLoader workers need more", observed=total,
                         expected=SHM_MIN_MIB)
    else:
        yield ctx.warned(f"/dev/shm is only {total} MiB: DataLoader workers may fail with a bus "
                         "error", observed=total, expected=SHM_MIN_MIB)


@rule("nccl_env")
def nccl_env(ctx: RuleContext) -> Iterable[Finding]:
    env = ctx.fact("env") or {}
    disabled = [f"{name}={env[name]}: {what} off" for name, what in DISABLE_WHAT.items()
                if env.get(name, "").strip() == DISABLING[name]]
    if env.get("NCCL_NET", "").strip().lower() == "socket":
        disabled.append("NCCL_NET=Socket: only TCP sockets between nodes, no InfiniBand")
    notes = [f"NCCL_SOCKET_IFNAME={env['NCCL_SOCKET_IFNAME']}: every node needs an interface "
             "that matches"] if env.get("NCCL_SOCKET_IFNAME") else []
    recorded = {k: v for k, v in env.items() if k.startswith("NCCL_")}
    if disabled:
        yield ctx.warned("NCCL transports turned off: " + "; ".join(disabled), observed=recorded,
                         details=notes)
    elif recorded:
        yield ctx.passed("NCCL variables set, none turns a transport off: "
                         + ", ".join(f"{k}={v}" for k, v in recorded.items()),
                         observed=recorded, details=notes)
    else:
        yield ctx.skipped("no NCCL variable set")


@rule("nccl_platform")
def nccl_platform(ctx: RuleContext) -> Iterable[Finding]:
    """A multi-GPU (DDP) recipe on Windows or macOS: torch there has no NCCL backend."""
    os_name = ctx.need("os.name")
    if not ctx.recipe.hardware.get("multi_gpu"):
        yield ctx.skipped(f"{ctx.recipe.id} trains on one device")
    elif os_name == "linux":
        yield ctx.passed("torch's Linux builds carry NCCL for DDP across GPUs", observed=os_name)
    elif os_name in ("windows", "darwin"):
        where = "Windows" if os_name == "windows" else "macOS"
        title = (f"{ctx.recipe.id} trains with DDP over NCCL, which torch on {where} does not "
                 "have: torchrun stops with \"Distributed package doesn't have NCCL built in\"")
        if os_name == "windows":
            yield ctx.failed(title, observed=os_name, expected="linux")
        else:  # a Mac runs the recipe on one device (MPS): DDP is what cannot work
            yield ctx.warned(title + "; run it on one device", observed=os_name, expected="linux")
    else:
        yield ctx.skipped(f"no NCCL verdict for {os_name}")
