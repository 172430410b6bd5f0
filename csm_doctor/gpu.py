"""The one GPU record: the fields a GPU has in the facts document, wherever it came from.

nvidia-smi's parsers, the NVML probe, triage's paste reader and the facts schema all use this
definition (before, each kept its own key list and they could drift). Parsers may add extras
while they work (driver_model, processes); `facts_gpu` keeps the facts fields only.
"""

from __future__ import annotations

from typing import Any, Mapping, TypedDict


class GpuRecord(TypedDict):
    """One GPU in `nvidia.gpus` / `torch.devices`; None where the source does not say."""

    index: int | None
    name: str | None
    memory_total_mib: int | None
    memory_used_mib: int | None
    memory_free_mib: int | None
    compute_capability: str | None  # '8.6'
    bus_id: str | None


GPU_KEYS: tuple[str, ...] = tuple(GpuRecord.__annotations__)
INT_KEYS = ("index", "memory_total_mib", "memory_used_mib", "memory_free_mib")


def gpu_record(**values: Any) -> dict[str, Any]:
    """A GPU with every field (missing → None) plus any extras a parser passes."""
    record: dict[str, Any] = dict.fromkeys(GPU_KEYS)
    record.update(values)
    return record


def facts_gpu(source: Mapping[str, Any]) -> GpuRecord:
    """The facts fields of a GPU mapping, in order, extras dropped."""
    return {key: source.get(key) for key in GPU_KEYS}  # type: ignore[return-value]
