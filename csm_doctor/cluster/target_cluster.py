# Runs INSIDE the interpreter under test, once per rank: `python -u target_cluster.py CONFIG_FILE`.
#
# Started by torch.distributed.run (which `csm-doctor cluster` launches when no launcher
# did), or by `csm-doctor cluster` itself when torchrun/srun already started one process
# per rank. torch.distributed does all the transport: a gloo group carries the facts
# (all_gather_object), the device backend (nccl, hccl, or gloo on the CPU) carries the
# collective test. This script only reports; the doctor judges.
#
# Rules: standard library + torch (+ torch_npu on Ascend) only, never csm_doctor; Python
# >= 3.8 syntax. The result is one JSON file per rank, written to the config's folder.
# A watchdog ends the process at the config's deadline whatever it is waiting on.
import datetime
import json
import os
import platform
import socket
import sys
import threading
import time
import traceback

KEY_PREFIX = "csm-doctor/"
MIB = 1024 * 1024

# Test-only fault injection (documented in docs/cluster.md): "hang-collective:RANK" makes
# that rank stop before the collective test, the way a stuck rank does on a real cluster.
FAULT = os.environ.get("CSM_DOCTOR_CLUSTER_FAULT", "").strip().lower()


def env_int(name, default=None):
    try:
        return int(os.environ[name])
    except (KeyError, ValueError):
        return default


def first_line(exc):
    text = str(exc).strip().splitlines()
    return text[0][:500] if text else type(exc).__name__


def error_record(stage, exc):
    return {"stage": stage, "type": type(exc).__name__, "message": first_line(exc),
            "traceback": traceback.format_exc().splitlines()[-8:]}


def identity():
    """Who this process is, from the variables torchrun (or srun, mapped by the doctor) set."""
    return {
        "rank": env_int("RANK", 0), "world_size": env_int("WORLD_SIZE", 1),
        "local_rank": env_int("LOCAL_RANK", 0), "local_world_size": env_int("LOCAL_WORLD_SIZE", 1),
        "node_rank": env_int("GROUP_RANK", env_int("NODE_RANK", 0)),
        "host": socket.gethostname(), "pid": os.getpid(),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
    }


# ---------------------------------------------------------------- device


def npu_module(torch):
    try:
        import torch_npu  # noqa: F401  (registers torch.npu)
    except Exception:
        return None
    npu = getattr(torch, "npu", None)
    try:
        return npu if npu is not None and npu.is_available() else None
    except Exception:
        return None


def check_device(torch, wanted, local_rank):
    """This rank's own device: visible, the right index, its memory and bf16."""
    info = {"type": "cpu", "index": None, "visible": 0, "name": None, "uuid": None,
            "total_mib": None, "free_mib": None, "bf16": None, "capability": None, "error": None}
    try:
        if wanted in ("auto", "cuda") and torch.cuda.is_available():
            info["type"] = "cuda"
            info["visible"] = torch.cuda.device_count()
            if local_rank >= info["visible"]:
                info["error"] = ("LOCAL_RANK %d but only %d CUDA device(s) are visible"
                                 % (local_rank, info["visible"]))
                return info
            torch.cuda.set_device(local_rank)
            props = torch.cuda.get_device_properties(local_rank)
            free, total = torch.cuda.mem_get_info(local_rank)
            info.update(index=local_rank, name=props.name, total_mib=int(total // MIB),
                        free_mib=int(free // MIB), bf16=bool(torch.cuda.is_bf16_supported()),
                        capability="%d.%d" % (props.major, props.minor),
                        uuid=str(getattr(props, "uuid", "")) or None)
            return info
        npu = npu_module(torch) if wanted in ("auto", "npu") else None
        if npu is not None:
            info["type"] = "npu"
            info["visible"] = npu.device_count()
            if local_rank >= info["visible"]:
                info["error"] = ("LOCAL_RANK %d but only %d NPU(s) are visible"
                                 % (local_rank, info["visible"]))
                return info
            npu.set_device(local_rank)
            info.update(index=local_rank, name=npu.get_device_name(local_rank), bf16=True)
            try:
                free, total = npu.mem_get_info(local_rank)
                info.update(total_mib=int(total // MIB), free_mib=int(free // MIB))
            except Exception:
                pass
            return info
        if wanted in ("cuda", "npu"):
            info["error"] = "%s was asked for but torch here cannot use it" % wanted
    except Exception as exc:  # a broken driver raises here: that is the finding
        info["error"] = "%s: %s" % (type(exc).__name__, first_line(exc))
    return info


def versions(torch):
    nccl = None
    try:
        if torch.cuda.is_available() or torch.version.cuda:
            raw = torch.cuda.nccl.version()
            nccl = ".".join(str(p) for p in raw) if isinstance(raw, tuple) else str(raw)
    except Exception:
        nccl = None
    return {"torch": torch.__version__, "cuda": torch.version.cuda,
            "hip": getattr(torch.version, "hip", None), "nccl": nccl,
            "python": platform.python_version(),
            "gloo": bool(torch.distributed.is_gloo_available()),
            "nccl_available": bool(torch.distributed.is_nccl_available())}


# ---------------------------------------------------------------- collective


def synchronize(torch, device_type):
    if device_type == "cuda":
        torch.cuda.synchronize()
    elif device_type == "npu":
        torch.npu.synchronize()


def run_collective(torch, dist, group, op, device, size_bytes, iters, world, rank):
    """One operation: a checked first call, then `iters` timed calls (nccl-tests' figures)."""
    elements = max(1, size_bytes // 4)
    per_rank = max(1, elements // world)
    record = {"operation": op, "size_bytes": None, "iterations": iters, "correct": None,
              "time_s": None, "algbw_gbps": None, "busbw_gbps": None, "error": None}
    if op == "all_reduce":
        buf = torch.full((elements,), float(rank + 1), dtype=torch.float32, device=device)
        dist.all_reduce(buf, group=group)
        synchronize(torch, device.type)
        expected = world * (world + 1) / 2.0
        record["correct"] = bool(torch.all(buf == expected).item())
        record["size_bytes"] = elements * 4
        factor = 2.0 * (world - 1) / world
        buf.zero_()

        def call():
            dist.all_reduce(buf, group=group)
    else:
        mine = torch.full((per_rank,), float(rank + 1), dtype=torch.float32, device=device)
        out = [torch.empty_like(mine) for _ in range(world)]
        dist.all_gather(out, mine, group=group)
        synchronize(torch, device.type)
        record["correct"] = all(bool(torch.all(t == float(r + 1)).item()) for r, t in enumerate(out))
        record["size_bytes"] = per_rank * 4 * world
        factor = (world - 1) / float(world)

        def call():
            dist.all_gather(out, mine, group=group)
    call()  # warm-up, as nccl-tests does
    synchronize(torch, device.type)
    started = time.perf_counter()
    for _ in range(iters):
        call()
    synchronize(torch, device.type)
    seconds = (time.perf_counter() - started) / iters
    record["time_s"] = seconds
    record["algbw_gbps"] = record["size_bytes"] / seconds / 1e9 if seconds > 0 else None
    record["busbw_gbps"] = record["algbw_gbps"] * factor if record["algbw_gbps"] is not None else None
    return record


def default_store(dist):
    try:
        return dist.distributed_c10d._get_default_store()
    except Exception:
        return None


def mark(store, phase, rank):
    if store is not None:
        try:
            store.set(KEY_PREFIX + phase + "/" + str(rank), "1")
        except Exception:
            pass


def absent(store, phase, world):
    """The ranks that never set their key for this phase (None: the store cannot say)."""
    if store is None:
        return None
    try:
        return [r for r in range(world) if not store.check([KEY_PREFIX + phase + "/" + str(r)])]
    except Exception:
        return None


def hang_here(rank):
    if FAULT.startswith("hang-collective:"):
        try:
            if int(FAULT.split(":", 1)[1]) == rank:
                time.sleep(3600)
        except ValueError:
            pass


def collectives(torch, dist, entries, config, me, store):
    """The collective test on the backend every rank's device supports (gloo when they differ)."""
    kinds = {(e.get("device") or {}).get("type") for e in entries}
    usable = all(not (e.get("device") or {}).get("error") for e in entries)
    kind = kinds.pop() if len(kinds) == 1 and usable else "cpu"
    backend = {"cuda": "nccl", "npu": "hccl"}.get(kind, "gloo")
    timeout = datetime.timedelta(seconds=config["collective_timeout"])
    out = {"backend": backend, "device": kind, "results": [], "error": None, "missing_ranks": None,
           "waiting_ranks": None}
    world, rank = me["world_size"], me["rank"]
    if kind == "cpu":
        device = torch.device("cpu")
    else:
        device = torch.device(kind, me["local_rank"])
    phase = "start"
    try:
        group = dist.new_group(backend=backend, timeout=timeout)
        hang_here(rank)
        for op in config["operations"]:
            phase = op
            mark(store, "arrive/" + op, rank)
            out["results"].append(run_collective(torch, dist, group, op, device, config["size_bytes"],
                                                 config["iterations"], world, rank))
            mark(store, "done/" + op, rank)
    except Exception as exc:
        out["error"] = error_record("collective:" + phase, exc)
        out["missing_ranks"] = absent(store, "arrive/" + phase, world)
        done = absent(store, "done/" + phase, world)
        if done is not None and out["missing_ranks"] is not None:
            out["waiting_ranks"] = [r for r in done if r not in out["missing_ranks"]]
    return out


# ---------------------------------------------------------------- facts exchange


def has_numpy():
    try:
        import numpy  # noqa: F401
        return True
    except Exception:
        return False


def gather_objects(torch, dist, entry, world):
    """Every rank's entry on every rank: all_gather_object, which needs numpy to unpickle.

    The CPU wheel does not pull numpy in; when any rank lacks it (they agree first, so
    every rank takes the same path) the entries travel as JSON bytes through all_gather.
    """
    flag = torch.tensor([1 if has_numpy() else 0], dtype=torch.int64)
    dist.all_reduce(flag, op=dist.ReduceOp.MIN)
    if int(flag.item()) == 1:
        entries = [None] * world
        dist.all_gather_object(entries, entry)
        return entries
    payload = bytearray(json.dumps(entry, default=str).encode("utf-8"))
    size = torch.tensor([len(payload)], dtype=torch.int64)
    sizes = [torch.zeros(1, dtype=torch.int64) for _ in range(world)]
    dist.all_gather(sizes, size)
    longest = max(int(s.item()) for s in sizes)
    mine = torch.zeros(longest, dtype=torch.uint8)
    mine[:len(payload)] = torch.frombuffer(payload, dtype=torch.uint8)
    out = [torch.zeros(longest, dtype=torch.uint8) for _ in range(world)]
    dist.all_gather(out, mine)
    return [json.loads(bytes(t[:int(n.item())].tolist()).decode("utf-8")) for t, n in zip(out, sizes)]


# ---------------------------------------------------------------- main


def write_result(config, result):
    path = os.path.join(config["result_dir"], "rank-%d.json" % result["identity"]["rank"])
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(result, handle, default=str)
    os.replace(tmp, path)


def main():
    with open(sys.argv[1], encoding="utf-8") as handle:
        config = json.load(handle)
    timer = threading.Timer(config["deadline_s"], lambda: os._exit(3))
    timer.daemon = True
    timer.start()
    me = identity()
    result = {"identity": me, "entries": None, "collective": None, "error": None,
              "joined_s": None}
    started = time.perf_counter()
    writes = me["local_rank"] == 0 or config.get("every_rank")
    try:
        import torch
        import torch.distributed as dist
    except Exception as exc:
        result["error"] = error_record("import", exc)
        write_result(config, result)
        return 0
    entry = dict(me)
    entry["device"] = check_device(torch, config["device"], me["local_rank"])
    entry["versions"] = versions(torch)
    entry["facts"] = config.get("facts") if me["local_rank"] == 0 else None
    try:
        dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=config["join_timeout"]))
        result["joined_s"] = time.perf_counter() - started
        result["entries"] = gather_objects(torch, dist, entry, me["world_size"])
    except Exception as exc:
        result["error"] = error_record("join", exc)
        result["entries"] = [entry]
        if writes:
            write_result(config, result)
        sys.stdout.flush()
        os._exit(1)  # non-zero: torchrun then stops the other ranks at once
    store = default_store(dist)
    result["collective"] = collectives(torch, dist, result["entries"], config, me, store)
    if result["collective"]["error"] is None:
        try:  # nobody leaves while a peer still reads the store the first rank serves
            dist.barrier()
        except Exception:
            pass
    if writes or me["rank"] == 0:
        write_result(config, result)
    sys.stdout.flush()
    sys.stderr.flush()
    # A failed collective exits non-zero so torchrun stops the stuck ranks now rather than
    # at their deadline; a half-built group can hang in destroy, so it is never called.
    os._exit(1 if result["collective"]["error"] else 0)


if __name__ == "__main__":
    sys.exit(main())
