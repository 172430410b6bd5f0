# Runs INSIDE the interpreter under test (`python -c <this source> [import-torch]`).
# It must work on any CPython >= 3.7 with nothing but the standard library, and
# must never import csm_doctor. It prints one JSON object after a marker line, so
# anything a package prints on import cannot corrupt the result.
import os
import sys

MARKER = "@@CSM_DOCTOR_JSON@@"

# Started with `python -I` in a private folder: nothing from the user's working
# directory, the temp folder or the user site can shadow the real packages.
# PYTHONPATH (which -I ignores) is the user's own setting, so its absolute
# entries are put back where Python puts them; relative ones would mean our folder.
sys.path[:] = [p for p in sys.path if p not in ("", ".", os.getcwd())]
for _entry in reversed([p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                        if p and os.path.isabs(p)]):
    if _entry not in sys.path:
        sys.path.insert(0, _entry)

import json  # noqa: E402 - only after sys.path is safe
import platform  # noqa: E402
import re  # noqa: E402


def python_facts():
    base = getattr(sys, "base_prefix", sys.prefix)
    conda = os.path.isdir(os.path.join(sys.prefix, "conda-meta"))
    in_venv = sys.prefix != base
    return {
        "executable": sys.executable,
        "version": "%d.%d.%d" % sys.version_info[:3],
        "implementation": platform.python_implementation(),
        "in_venv": in_venv or conda,
        "venv_kind": "venv" if in_venv else ("conda" if conda else None),
        "prefix": sys.prefix,
        "bits": 64 if sys.maxsize > 2 ** 32 else 32,
    }


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def distributions():
    try:
        from importlib import metadata
    except ImportError:  # Python 3.7
        try:
            import importlib_metadata as metadata
        except ImportError:
            return {}, None
    found = {}
    for dist in metadata.distributions():
        try:
            name = dist.metadata["Name"]
            if name and canonical(name) not in found:
                found[canonical(name)] = dist.version
        except Exception:
            continue
    return found, metadata


def requirement_parser():
    """packaging's Requirement: the target's own, else the copy pip vendors; None without both."""
    try:
        from packaging.requirements import Requirement
        return Requirement
    except Exception:
        pass
    try:
        from pip._vendor.packaging.requirements import Requirement
        return Requirement
    except Exception:
        return None


def dependency_facts(packages, metadata):
    """Every distribution's Requires-Dist against what is installed (what `pip check` does).

    Markers are evaluated here, in the target, so python_version and platform are the
    target's; requirements behind an extra are not required and are skipped.
    """
    if metadata is None:
        return {"checked": False, "reason": "importlib.metadata is not available", "broken": []}
    Requirement = requirement_parser()
    if Requirement is None:
        return {"checked": False, "reason": "neither packaging nor pip is installed in the target",
                "broken": []}
    broken, seen = [], set()
    for dist in metadata.distributions():
        try:
            name = dist.metadata["Name"]
            if not name or canonical(name) in seen:
                continue
            seen.add(canonical(name))
            requires = dist.requires or []
        except Exception:
            continue
        for text in requires:
            try:
                req = Requirement(text)
                if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                    continue
                have = packages.get(canonical(req.name))
                if have is None:
                    problem = "missing"
                elif req.specifier and not req.specifier.contains(have, prereleases=True):
                    problem = "version"
                else:
                    continue
            except Exception:
                continue
            broken.append({"package": name, "version": dist.version, "requirement": text.strip(),
                           "requires": canonical(req.name), "installed": have, "problem": problem})
    return {"checked": True, "broken": broken[:200]}


def read_version_py(metadata):
    """torch/version.py holds the build's CUDA/HIP without importing torch."""
    try:
        import importlib.util
        spec = importlib.util.find_spec("torch")
    except Exception:
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(list(spec.submodule_search_locations)[0], "version.py")
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        return None
    values = {}
    for key in ("__version__", "cuda", "hip", "xpu", "git_version"):
        match = re.search(r"^%s\s*(?::[^=\n]*)?=\s*(.+)$" % re.escape(key), text, re.M)
        if match:
            raw = match.group(1).strip()
            values[key] = None if raw == "None" else raw.strip("'\"")
    return values


def variant_of(version, cuda, hip):
    local = version.split("+", 1)[1] if version and "+" in version else None
    if local:
        return local
    if cuda:
        return "cu" + cuda.replace(".", "")[:3]
    if hip:
        return "rocm" + ".".join(hip.split(".")[:2])
    return "cpu" if version else None


def torch_static(packages, metadata):
    version = packages.get("torch")
    if version is None:
        return None
    values = read_version_py(metadata) or {}
    cuda, hip = values.get("cuda"), values.get("hip")
    return {
        "version": values.get("__version__") or version,
        "variant": variant_of(values.get("__version__") or version, cuda, hip),
        "cuda": cuda,
        "hip": hip,
        "source": "metadata",
        "imported": False,
    }


def torch_runtime(info):
    saved = sys.stdout
    sys.stdout = sys.stderr  # some builds print on import; keep stdout for the JSON
    try:
        import torch
    except BaseException as exc:
        info["import_error"] = "%s: %s" % (type(exc).__name__, first_line(exc))
        return info
    finally:
        sys.stdout = saved
    info.update({
        "version": torch.__version__,
        "cuda": getattr(torch.version, "cuda", None),
        "hip": getattr(torch.version, "hip", None),
        "source": "import",
        "imported": True,
    })
    info["variant"] = variant_of(info["version"], info["cuda"], info["hip"])
    try:
        info["cuda_available"] = bool(torch.cuda.is_available())
        count = torch.cuda.device_count() if info["cuda_available"] else 0
        info["device_count"] = count
        devices = []
        for index in range(count):
            props = torch.cuda.get_device_properties(index)
            devices.append({
                "index": index,
                "name": props.name,
                "compute_capability": "%d.%d" % (props.major, props.minor),
                "memory_total_mib": int(props.total_memory // (1024 * 1024)),
            })
        info["devices"] = devices
        info["arch_list"] = list(torch.cuda.get_arch_list()) if info["cuda"] or info["hip"] else []
    except BaseException as exc:
        info["cuda_error"] = "%s: %s" % (type(exc).__name__, exc)
    try:
        mps = getattr(torch.backends, "mps", None)
        info["mps_built"] = bool(mps and mps.is_built())
        info["mps_available"] = bool(mps and mps.is_available())
    except BaseException:
        pass
    info.update(npu_facts(torch))
    info.update(torchaudio_facts())
    return info


def npu_facts(torch):
    """torch_npu raises on import where the driver libraries are missing: guard it."""
    try:
        from importlib.util import find_spec
        if find_spec("torch_npu") is None:
            return {}
    except Exception:
        return {}
    saved = sys.stdout
    sys.stdout = sys.stderr
    try:
        import torch_npu  # noqa: F401
    except BaseException as exc:
        return {"npu_import_error": "%s: %s" % (type(exc).__name__, first_line(exc))}
    finally:
        sys.stdout = saved
    try:
        npu = torch.npu  # registered by the torch_npu import above
        return {"npu_available": bool(npu.is_available()), "npu_count": int(npu.device_count())}
    except BaseException as exc:
        return {"npu_import_error": "%s: %s" % (type(exc).__name__, first_line(exc))}


def torchaudio_facts():
    """Which I/O backends torchaudio has: none means it cannot load prompt audio."""
    try:
        from importlib.util import find_spec
        if find_spec("torchaudio") is None:
            return {}
        import torchaudio
    except BaseException as exc:
        return {"torchaudio_error": "%s: %s" % (type(exc).__name__, first_line(exc))}
    lister = getattr(torchaudio, "list_audio_backends", None)
    if lister is None:  # torchaudio >= 2.9 moved decoding to torchcodec
        return {"torchaudio_backends": None}
    try:
        return {"torchaudio_backends": list(lister())}
    except BaseException as exc:
        return {"torchaudio_error": "%s: %s" % (type(exc).__name__, first_line(exc))}


def first_line(exc):
    text = str(exc)
    return text.splitlines()[0] if text else ""


def main():
    packages, metadata = distributions()
    result = {"python": python_facts(), "packages": packages, "torch": torch_static(packages, metadata),
              "dependencies": dependency_facts(packages, metadata)}
    if "import-torch" in sys.argv[1:] and result["torch"] is not None:
        result["torch"] = torch_runtime(result["torch"])
    sys.stdout.write("\n" + MARKER + "\n" + json.dumps(result) + "\n")
    sys.stdout.flush()


main()
