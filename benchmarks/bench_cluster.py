#!/usr/bin/env python3
"""Measure `csm-doctor cluster`'s collective test (all_reduce, all_gather) on this machine.

Runs `csm-doctor cluster --json` (which starts the target's torch.distributed.run,
standalone, gloo on a CPU-only machine, NCCL on GPUs) once per buffer size and
prints nccl-tests' figures. The baseline, measured in the same run with the same
torch, is one process copying a buffer of the same size (`dst.copy_(src)`): the
memory bandwidth a loopback collective can at best approach. Bus bandwidth is
reported as a ratio to it.

    python benchmarks/bench_cluster.py --python /path/to/torch-venv/bin/python \
        [--nproc 2] [--sizes 1,16,64] [--iterations 20]

Standard library only here; the target needs torch. Figures are in docs/cluster.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

MEMCPY = """
import sys, time, torch
torch.set_num_threads(1)  # as each rank runs under torchrun (OMP_NUM_THREADS=1)
n = int(sys.argv[1]) // 4
src, dst = torch.ones(n), torch.empty(n)
dst.copy_(src)
t = time.perf_counter()
for _ in range(int(sys.argv[2])):
    dst.copy_(src)
print((time.perf_counter() - t) / int(sys.argv[2]))
"""


def memcpy_gbps(python: str, size: int, iterations: int) -> float:
    out = subprocess.run([python, "-c", MEMCPY, str(size), str(iterations)], capture_output=True,
                         text=True, timeout=300, check=True).stdout
    return size / float(out.strip()) / 1e9


def collective(python: str, nproc: int, size_mb: float, iterations: int) -> dict:
    env = {**os.environ, "GLOO_SOCKET_IFNAME": os.environ.get("GLOO_SOCKET_IFNAME", "lo")}
    proc = subprocess.run([sys.executable, "-m", "csm_doctor", "cluster", "--python", python,
                           "--nproc-per-node", str(nproc), "--size-mb", f"{size_mb:g}",
                           "--iterations", str(iterations), "--offline", "--json", "-q"],
                          capture_output=True, text=True, timeout=600, env=env)
    doc = json.loads(proc.stdout)
    if not doc.get("collective") or doc["collective"].get("error"):
        raise SystemExit(f"the collective did not run: {json.dumps(doc.get('collective'))}")
    return doc["collective"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", required=True, help="an interpreter with torch")
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--sizes", default="1,16,64", help="MiB, comma separated")
    parser.add_argument("--iterations", type=int, default=20)
    args = parser.parse_args()
    print(f"{'MiB':>5} {'op':<10} {'time ms':>9} {'algbw GB/s':>11} {'busbw GB/s':>11} "
          f"{'memcpy GB/s':>12} {'busbw/memcpy':>13}  correct")
    for size_mb in (float(s) for s in args.sizes.split(",")):
        result = collective(args.python, args.nproc, size_mb, args.iterations)
        for op in result["results"]:
            base = memcpy_gbps(args.python, op["size_bytes"], args.iterations)
            print(f"{size_mb:>5g} {op['operation']:<10} {op['time_s'] * 1000:>9.2f} "
                  f"{op['algbw_gbps']:>11.2f} {op['busbw_gbps']:>11.2f} {base:>12.2f} "
                  f"{op['busbw_gbps'] / base:>13.3f}  {op['correct']}")
        print(f"      ({result['backend']} on {result['device']}, {args.nproc} ranks)")


if __name__ == "__main__":
    main()
