# Runs INSIDE the interpreter under test: `python -u target_smoke.py CONFIG_JSON`.
#
# It generates speech with CSM on the best device that interpreter's torch can
# drive, writes the WAV, measures what a person would want to know (load time,
# time to first audio, generation time, peak memory) and describes the audio
# (level, NaNs, clipping, a waveform envelope and a spectrogram for the PNG).
# The doctor judges; this script only reports.
#
# Rules: standard library + torch + transformers (+ the official repo's own
# modules for --repo) only, never csm_doctor; Python >= 3.8 syntax. Every
# print from a package goes to stderr; the result is one JSON object after a
# marker line on the real stdout. Progress lines on stderr start with
# PROGRESS and hold one JSON object, which the doctor relays.
import base64
import json
import os
import sys
import time
import traceback

MARKER = "@@CSM_DOCTOR_JSON@@"
PROGRESS = "@@CSM_DOCTOR_PROGRESS@@"

# Test-only fault injection (documented in docs/smoke.md): makes the real code
# path fail the way a real machine does, so the doctor's handling is tested.
FAULT = os.environ.get("CSM_DOCTOR_SMOKE_FAULT", "").strip().lower()

# The tiny configuration of transformers' own CSM tests: CsmModelTester in
# huggingface/transformers tests/models/csm/test_modeling_csm.py. Changes,
# each for a reason: the codec's frame_rate is set to Mimi's real 12.5 Hz so a
# frame is 1920 samples (80 ms) as in CSM-1B; the backbone's
# max_position_embeddings is raised to fit the prompt and the frames; the
# audio token ids are moved inside the tiny text vocabulary (99).
TINY_DEPTH_DECODER = {
    "num_codebooks": 10, "backbone_hidden_size": 64, "vocab_size": 6, "hidden_size": 64,
    "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
    "num_key_value_heads": 2, "hidden_act": "silu", "max_position_embeddings": 10,
}
TINY_CODEC = {
    "model_type": "mimi", "audio_channels": 1, "chunk_in_sec": None, "hidden_size": 32,
    "num_filters": 8, "num_residual_layers": 1, "upsampling_ratios": [8, 4], "codebook_size": 64,
    "vector_quantization_hidden_dimension": 64, "upsample_groups": 32, "num_hidden_layers": 2,
    "num_attention_heads": 2, "num_key_value_heads": 2, "sliding_window": 4, "codebook_dim": 64,
    "use_cache": False, "frame_rate": 12.5,
}
TINY_BACKBONE = {
    "num_codebooks": 10, "vocab_size": 6, "text_vocab_size": 99, "hidden_size": 64,
    "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
    "num_key_value_heads": 2, "hidden_act": "silu", "max_position_embeddings": 10,
    "bos_token_id": 1, "pad_token_id": 2, "eos_token_id": 3, "codebook_pad_token_id": 2,
    "codebook_eos_token_id": 3, "audio_token_id": 57, "audio_eos_token_id": 58,
}

# The official generator's tokens per frame of 80 ms (moshi: 24 kHz / 12.5 Hz).
OFFICIAL_FRAME_MS = 80


WARMUP_FRAMES = 4   # a short untimed generation first
REPEATS = 3         # timed generations; the median one is reported


def progress(stage, message, **extra):
    record = {"stage": stage, "message": message}
    record.update(extra)
    sys.stderr.write(PROGRESS + " " + json.dumps(record) + "\n")
    sys.stderr.flush()


def now():
    return time.perf_counter()


# ---------------------------------------------------------------- device


def choose_device(torch, requested):
    """The best device torch can drive here, and why; or why the requested one cannot run."""
    found = {}
    try:
        if torch.cuda.is_available():
            found["cuda"] = torch.cuda.get_device_name(0)
    except Exception as exc:  # a broken driver raises here
        found["cuda_error"] = "%s: %s" % (type(exc).__name__, first_line(exc))
    npu_name, npu_error = npu_device(torch)
    if npu_name:
        found["npu"] = npu_name
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found["mps"] = "Apple GPU (Metal)"
    if requested == "auto":
        for kind in ("cuda", "npu", "mps"):
            if kind in found:
                return kind, found[kind], None
        return "cpu", platform_cpu(), "no accelerator found (%s)" % why_no_accelerator(
            torch, found, npu_error)
    if requested == "cpu":
        return "cpu", platform_cpu(), "asked for with --device cpu"
    if requested in found:
        return requested, found[requested], None
    raise DeviceUnavailable(requested, why_unavailable(torch, requested, found, npu_error))


class DeviceUnavailable(Exception):
    def __init__(self, device, why):
        Exception.__init__(self, "--device %s: %s" % (device, why))
        self.device = device
        self.why = why


def npu_device(torch):
    """torch_npu raises on hosts without the Ascend driver: import it guarded."""
    try:
        from importlib.util import find_spec
        if find_spec("torch_npu") is None:
            return None, None
        import torch_npu  # noqa: F401  registers torch.npu
        if torch.npu.is_available():
            return torch.npu.get_device_name(0), None
        return None, "torch_npu sees no NPU"
    except BaseException as exc:
        return None, "torch_npu: %s: %s" % (type(exc).__name__, first_line(exc))


def why_no_accelerator(torch, found, npu_error):
    cuda = getattr(torch.version, "cuda", None)
    parts = []
    if found.get("cuda_error"):
        parts.append("CUDA: " + found["cuda_error"])
    elif cuda:
        parts.append("torch %s is built for CUDA %s but sees no GPU" % (torch.__version__, cuda))
    else:
        parts.append("torch %s is a CPU build" % torch.__version__)
    if npu_error:
        parts.append(npu_error)
    return "; ".join(parts)


def why_unavailable(torch, requested, found, npu_error):
    if requested == "cuda":
        if found.get("cuda_error"):
            return found["cuda_error"]
        if not getattr(torch.version, "cuda", None) and not getattr(torch.version, "hip", None):
            return "torch %s is a CPU build (torch.version.cuda is None)" % torch.__version__
        return "torch.cuda.is_available() is False: no GPU visible to torch %s" % torch.__version__
    if requested == "npu":
        return npu_error or "torch_npu is not installed in this environment"
    if requested == "mps":
        return "torch.backends.mps.is_available() is False (not Apple silicon, or macOS < 12.3)"
    return "unknown device"


def platform_cpu():
    """The CPU's model name where the OS says it cheaply (Linux), else the architecture."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.machine() or "CPU"


def choose_dtype(torch, device, requested, official):
    """bf16 where the hardware has it natively; float32 elsewhere (CPU, MPS) unless asked."""
    if official:
        return torch.bfloat16, "the official load_csm_1b always loads bf16"
    if requested != "auto":
        return getattr(torch, requested), "asked for with --dtype"
    if device == "cuda":
        try:
            native = torch.cuda.is_bf16_supported(including_emulation=False)
        except TypeError:  # torch < 2.3 has no including_emulation
            native = torch.cuda.is_bf16_supported()
        if native:
            return torch.bfloat16, "native bf16"
        return torch.float32, "no native bf16 on this GPU"
    if device == "npu":
        return torch.bfloat16, "native bf16"
    return torch.float32, "float32 on %s" % device


def dtype_name(dtype):
    return str(dtype).replace("torch.", "")


# ---------------------------------------------------------------- memory


def reset_peak(torch, device):
    accel = accelerator_module(torch, device)
    if accel is not None:
        try:
            accel.synchronize()
            accel.reset_peak_memory_stats()
        except Exception:
            pass


def peak_memory(torch, device):
    """(MiB, kind): the accelerator's max allocated, else the process's peak RSS."""
    accel = accelerator_module(torch, device)
    if accel is not None:
        try:
            accel.synchronize()
            return accel.max_memory_allocated() / 2 ** 20, "%s-max-allocated" % device
        except Exception:
            pass
    return peak_rss_mib(), "rss"


def accelerator_module(torch, device):
    if device == "cuda":
        return torch.cuda
    if device == "npu":
        return getattr(torch, "npu", None)
    return None


def peak_rss_mib():
    try:
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2 ** 20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux
    except ImportError:  # Windows
        return windows_peak_working_set_mib()


def windows_peak_working_set_mib():
    try:
        import ctypes
        from ctypes import wintypes

        class Counters(ctypes.Structure):
            _fields_ = [("cb", wintypes.DWORD), ("PageFaultCount", wintypes.DWORD),
                        ("PeakWorkingSetSize", ctypes.c_size_t), ("WorkingSetSize", ctypes.c_size_t),
                        ("QuotaPeakPagedPoolUsage", ctypes.c_size_t),
                        ("QuotaPagedPoolUsage", ctypes.c_size_t),
                        ("QuotaPeakNonPagedPoolUsage", ctypes.c_size_t),
                        ("QuotaNonPagedPoolUsage", ctypes.c_size_t),
                        ("PagefileUsage", ctypes.c_size_t), ("PeakPagefileUsage", ctypes.c_size_t)]
        counters = Counters()
        counters.cb = ctypes.sizeof(Counters)
        handle = ctypes.windll.kernel32.GetCurrentProcess()
        ctypes.windll.psapi.GetProcessMemoryInfo(handle, ctypes.byref(counters), counters.cb)
        return counters.PeakWorkingSetSize / 2 ** 20
    except Exception:
        return None


# ---------------------------------------------------------------- frames and faults


class FrameWatch(object):
    """Counts generated frames, times the first and relays progress.

    transformers calls a streamer's put() once with the prompt, then once per
    frame of codes; the official generator is watched through generate_frame.
    """

    def __init__(self, total, skip_first):
        self.total = total
        self.skip = 1 if skip_first else 0
        self.calls = 0
        self.frames = 0
        self.started = None
        self.first_frame = None
        self.last_report = 0.0

    def start(self):
        self.started = now()

    def put(self, value):
        self.calls += 1
        if self.calls <= self.skip:
            return
        self.frame()

    def frame(self):
        self.frames += 1
        if self.first_frame is None:
            self.first_frame = now() - self.started
            inject_fault_at_first_frame()
        t = now()
        if t - self.last_report >= 1.0 or self.frames == self.total:
            self.last_report = t
            progress("generate", "generating", frame=self.frames, frames=self.total)

    def end(self):
        pass


def inject_fault_at_first_frame():
    if FAULT == "oom":
        import torch
        error = getattr(torch.cuda, "OutOfMemoryError", RuntimeError)
        raise error("CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity "
                    "of 15.77 GiB of which 1.06 GiB is free. (csm-doctor test fault)")
    if FAULT == "hang":
        progress("generate", "test fault: hanging")
        while True:
            time.sleep(1)


def inject_codec_faults(model):
    """nan: the codec's latents become NaN, so the real decoder returns NaN audio.
    empty: every codebook is forced to EOS, so generation stops at once and Mimi
    is asked to decode zero frames (the real failure of a prompt without special tokens)."""
    if FAULT == "nan":
        quantizer = model.codec_model.quantizer
        decode = quantizer.decode
        quantizer.decode = lambda codes: decode(codes) * float("nan")
    elif FAULT == "empty":
        eos = model.config.codebook_eos_token_id

        def force_eos(module, inputs, output):
            output = output.clone()
            output[...] = -1e4
            output[..., eos] = 1e4
            return output
        model.lm_head.register_forward_hook(force_eos)
        model.depth_decoder.codebooks_head.register_forward_hook(force_eos)


# ---------------------------------------------------------------- model paths


def codec_init(model):
    """A random Mimi's codebooks are all zero, so its audio would ignore the codes: give them values."""
    import torch
    gen = torch.Generator(device="cpu").manual_seed(1234)
    for module in model.codec_model.modules():
        if type(module).__name__ == "MimiEuclideanCodebook":
            with torch.no_grad():
                values = torch.randn(module.embed_sum.shape, generator=gen)
                module.embed_sum.copy_(values.to(module.embed_sum.device, module.embed_sum.dtype))
                module.cluster_usage.fill_(1.0)
            if hasattr(module, "_embed"):
                module._embed = None  # cached embed_sum / cluster_usage


def dtype_keyword(transformers):
    """transformers >= 4.56 calls it `dtype`; older releases `torch_dtype`."""
    try:
        major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
    except ValueError:
        return "dtype"
    return "dtype" if (major, minor) >= (4, 56) else "torch_dtype"


def synthetic_prompt(text, vocab, bos, eos, reserved):
    """Token ids for a model without a tokenizer: the text's bytes folded into the vocabulary."""
    body = [reserved + (b % (vocab - reserved - 4)) for b in text.encode("utf-8")]
    return [bos] + body + [eos]


def build_random(cfg, torch, device, dtype, tiny):
    import transformers
    from transformers import CsmConfig, CsmForConditionalGeneration

    frames = cfg["max_frames"]
    torch.manual_seed(cfg.get("seed", 0))
    if tiny:
        backbone = dict(TINY_BACKBONE)
        prompt = synthetic_prompt("[%d]%s" % (cfg["speaker"], cfg["text"]), backbone["text_vocab_size"],
                                  backbone["bos_token_id"], backbone["eos_token_id"], 4)
        backbone["max_position_embeddings"] = max(backbone["max_position_embeddings"],
                                                  len(prompt) + frames + 1)
        config = CsmConfig(depth_decoder_config=dict(TINY_DEPTH_DECODER),
                           codec_config=dict(TINY_CODEC), **backbone)
        model = CsmForConditionalGeneration(config)
    else:
        config = CsmConfig()  # CSM-1B's sizes; the codec defaults to Mimi's
        prompt = synthetic_prompt("[%d]%s" % (cfg["speaker"], cfg["text"]), config.text_vocab_size,
                                  config.bos_token_id, 128001, 1000)
        with torch.device(device):
            model = CsmForConditionalGeneration._from_config(
                config, **{dtype_keyword(transformers): dtype})
    codec_init(model)
    model = model.to(device=device, dtype=dtype).eval()
    input_ids = torch.tensor([prompt], device=device)
    inputs = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}
    # Random weights would stop at a random EOS: ask for exactly `frames` frames.
    options = {"do_sample": True, "top_k": 50, "temperature": 0.9, "depth_decoder_do_sample": True,
               "depth_decoder_top_k": 50, "depth_decoder_temperature": 0.9,
               "min_new_tokens": frames}
    if FAULT == "empty":
        options.pop("min_new_tokens")
    return model, inputs, options


def load_pretrained(cfg, torch, device, dtype):
    import transformers
    from transformers import AutoProcessor, CsmForConditionalGeneration

    model_id = cfg["model_id"]
    progress("load", "loading the processor of %s" % model_id)
    processor = AutoProcessor.from_pretrained(model_id)
    progress("load", "loading %s onto %s" % (model_id, device))
    kwargs = {dtype_keyword(transformers): dtype}
    direct = module_available("accelerate")  # device_map= needs accelerate (v5 included)
    if direct:
        kwargs["device_map"] = device
    model = CsmForConditionalGeneration.from_pretrained(model_id, **kwargs)
    if not direct:
        model = model.to(device)
    model.eval()
    # add_special_tokens=True: without bos/eos CSM can end at once and Mimi decodes
    # zero frames ("Calculated padded input size per channel: (0)").
    inputs = processor("[%d]%s" % (cfg["speaker"], cfg["text"]), add_special_tokens=True)
    inputs = {k: v.to(device) for k, v in inputs.items() if hasattr(v, "to")}
    return model, inputs, {}


def module_available(name):
    from importlib.util import find_spec
    try:
        return find_spec(name) is not None
    except Exception:
        return False


def generate_transformers(cfg, torch, device, model, inputs, options, watch, max_frames=None):
    if FAULT in ("nan", "empty") and not getattr(model, "_csm_doctor_faulted", False):
        inject_codec_faults(model)
        model._csm_doctor_faulted = True
    with torch.inference_mode():
        watch.start()
        out = model.generate(**inputs, output_audio=True, return_dict_in_generate=True,
                             max_new_tokens=max_frames or cfg["max_frames"], streamer=watch, **options)
        audio = out.audio[0]
        synchronize(torch, device)
    codes = out.sequences[0]
    eos = model.config.codebook_eos_token_id
    ended = (codes == eos).all(dim=-1).nonzero()
    frames = int(ended.min()) if ended.numel() else int(codes.shape[0])
    codec = model.config.codec_config
    rate = int(getattr(codec, "sampling_rate", 24000))
    frame_rate = float(getattr(codec, "frame_rate", 12.5) or 12.5)
    return audio, rate, frames, rate / frame_rate, bool(ended.numel())


def load_official(cfg, torch, device, env_set):
    repo = cfg["repo"]
    sys.path.insert(0, repo)
    if not os.environ.get("NO_TORCH_COMPILE") and not module_available("triton"):
        os.environ["NO_TORCH_COMPILE"] = "1"  # moshi compiles lazily and needs triton otherwise
        env_set["NO_TORCH_COMPILE"] = "1"
    progress("load", "importing generator from %s" % repo)
    from generator import load_csm_1b
    progress("load", "load_csm_1b(device=%r)" % device)
    return load_csm_1b(device=device)


def generate_official(cfg, torch, device, generator, watch, max_frames=None):
    model = generator._model
    step = getattr(model, "_csm_doctor_step", None) or model.generate_frame
    model._csm_doctor_step = step

    def watched(*args, **kwargs):
        sample = step(*args, **kwargs)
        if not bool(torch.all(sample == 0)):  # an all-zero frame is the generator's EOS
            watch.frame()
        return sample
    model.generate_frame = watched
    if FAULT == "nan" and not getattr(generator, "_csm_doctor_faulted", False):
        generator._csm_doctor_faulted = True
        decode = generator._audio_tokenizer.decode
        generator._audio_tokenizer.decode = lambda codes: decode(codes) * float("nan")
    watch.start()
    frames = max_frames or cfg["max_frames"]
    audio = generator.generate(text=cfg["text"], speaker=cfg["speaker"], context=[],
                               max_audio_length_ms=frames * OFFICIAL_FRAME_MS)
    synchronize(torch, device)
    rate = int(generator.sample_rate)
    frame_rate = float(getattr(generator._audio_tokenizer, "frame_rate", 12.5) or 12.5)
    return audio, rate, watch.frames, rate / frame_rate, watch.frames < frames


def synchronize(torch, device):
    accel = accelerator_module(torch, device)
    if accel is not None:
        accel.synchronize()
    elif device == "mps":
        torch.mps.synchronize()


# ---------------------------------------------------------------- audio out


def describe_audio(torch, audio):
    """Level, NaNs and clipping of the raw output: what a listener would notice."""
    x = audio.detach().float().flatten().cpu()
    n = int(x.numel())
    finite = torch.isfinite(x)
    nonfinite = n - int(finite.sum())
    clean = torch.where(finite, x, torch.zeros_like(x))
    if n == 0:
        return clean, {"samples": 0, "nonfinite": 0, "rms": 0.0, "peak": 0.0,
                       "clipped_fraction": 0.0, "dc": 0.0}
    peak = float(clean.abs().max())
    rms = float(clean.pow(2).mean().sqrt())
    clipped = float((clean.abs() >= peak * 0.999).float().mean()) if peak > 0 else 0.0
    return clean, {"samples": n, "nonfinite": nonfinite, "rms": rms, "peak": peak,
                   "clipped_fraction": clipped, "dc": float(clean.mean())}


def write_wav(torch, clean, rate, path, peak):
    """PCM16, scaled down (never up) so no sample clips; returns the gain applied."""
    import wave
    gain = 1.0 if peak <= 0.999 else 0.999 / peak
    pcm = (clean * gain * 32767.0).round().clamp(-32768, 32767).to(torch.int16)
    try:
        data = pcm.numpy().tobytes()
    except Exception:  # torch without numpy
        import array
        data = array.array("h", pcm.tolist()).tobytes()
    if sys.byteorder == "big":
        import array
        swapped = array.array("h", data)
        swapped.byteswap()
        data = swapped.tobytes()
    folder = os.path.dirname(path)
    if folder and not os.path.isdir(folder):
        os.makedirs(folder)
    # A new file only (O_EXCL | O_NOFOLLOW; the doctor removed the last run's): a link
    # planted at the path is refused, never written through.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | \
        getattr(os, "O_BINARY", 0)
    raw = os.fdopen(os.open(path, flags, 0o666), "wb")
    try:
        handle = wave.open(raw, "wb")
        try:
            handle.setnchannels(1)
            handle.setsampwidth(2)
            handle.setframerate(rate)
            handle.writeframes(data)
        finally:
            handle.close()
    finally:
        raw.close()
    return gain


def plot_data(torch, clean, rate, gain, image):
    """A min/max envelope and a dB spectrogram, small enough to travel as JSON."""
    width, spec_height = int(image["width"]), int(image["spec_height"])
    x = clean * gain
    n = int(x.numel())
    if n < 2:
        return None
    chunk = -(-n // min(width, n))  # samples per column, rounded up
    cols = -(-n // chunk)
    padded = torch.cat([x, x[-1:].expand(chunk * cols - n)]).view(cols, chunk)
    lows, highs = padded.amin(dim=1).tolist(), padded.amax(dim=1).tolist()
    envelope = [[round(lows[i], 4), round(highs[i], 4)] for i in range(cols)]
    data = {"columns": cols, "envelope": envelope, "spec_height": 0, "spectrogram_b64": None,
            "nyquist_hz": rate / 2.0}
    n_fft = 512
    if n >= n_fft:
        hop = max(1, n // cols)
        spec = torch.stft(x, n_fft, hop_length=hop, window=torch.hann_window(n_fft),
                          return_complex=True).abs()
        db = 20.0 * torch.log10(spec + 1e-9)
        top = float(db.max())
        db = ((db.clamp(min=top - 80.0) - (top - 80.0)) * (255.0 / 80.0))
        db = torch.nn.functional.interpolate(db[None, None], size=(spec_height, cols),
                                             mode="bilinear", align_corners=False)[0, 0]
        pixels = db.flip(0).round().clamp(0, 255).to(torch.uint8).flatten().tolist()
        data["spec_height"] = spec_height
        data["spectrogram_b64"] = base64.b64encode(bytes(pixels)).decode("ascii")
    return data


# ---------------------------------------------------------------- main


def first_line(exc):
    text = str(exc)
    return text.splitlines()[0] if text else ""


def error_record(exc, stage):
    chain, seen, current = [], set(), exc
    while current is not None and id(current) not in seen and len(chain) < 6:
        seen.add(id(current))
        chain.append({"type": type(current).__name__, "message": str(current)[:2000],
                      "types": [c.__name__ for c in type(current).__mro__]})
        current = current.__cause__ or current.__context__
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return {"type": type(exc).__name__, "message": str(exc)[:4000], "stage": stage,
            "chain": chain, "traceback": tb[-6000:]}


def versions():
    found = {"python": "%d.%d.%d" % sys.version_info[:3]}
    try:
        from importlib import metadata
        for name in ("torch", "transformers", "torch_npu", "moshi", "accelerate"):
            try:
                found[name] = metadata.version(name)
            except Exception:
                pass
    except ImportError:
        pass
    return found


def run(cfg, result):
    kind = cfg["kind"]
    official = kind == "official"
    result["stage"] = "import"
    progress("import", "importing torch")
    t0 = now()
    import torch
    if not official:
        progress("import", "importing transformers")
        import transformers  # noqa: F401
    result["timings"]["import"] = now() - t0

    result["stage"] = "device"
    device, name, why = choose_device(torch, cfg["device"])
    dtype, dtype_why = choose_dtype(torch, device, cfg["dtype"], official)
    result["device"] = {"type": device, "name": name, "why": why}
    result["dtype"] = dtype_name(dtype)
    result["dtype_why"] = dtype_why
    progress("device", "%s: %s, %s" % (device, why or name, dtype_name(dtype)))

    result["stage"] = "load"
    reset_peak(torch, device)
    t0 = now()
    env_set = result["env_set"]
    if official:
        generator = load_official(cfg, torch, device, env_set)
    elif kind == "transformers":
        model, inputs, options = load_pretrained(cfg, torch, device, dtype)
    else:
        progress("load", "building a %s CSM with random weights (no download)"
                 % ("tiny" if kind == "tiny" else "full-size"))
        model, inputs, options = build_random(cfg, torch, device, dtype, tiny=kind == "tiny")
    synchronize(torch, device)
    result["timings"]["load"] = now() - t0
    result["memory"]["load_peak_mib"], _ = peak_memory(torch, device)

    result["stage"] = "generate"

    def generate(watch, max_frames=None):
        if official:
            return generate_official(cfg, torch, device, generator, watch, max_frames)
        return generate_transformers(cfg, torch, device, model, inputs, options, watch, max_frames)

    # One noisy sample is not a speed: the first call pays for kernel selection and caches,
    # and a busy machine's threads vary run to run. Warm up, then keep the median run.
    warmup = int(cfg.get("warmup_frames", WARMUP_FRAMES) or 0)
    if warmup:
        progress("generate", "warming up (%d frames, not timed)" % warmup)
        t0 = now()
        generate(FrameWatch(warmup, skip_first=not official), max_frames=min(warmup, cfg["max_frames"]))
        result["timings"]["warmup"] = now() - t0
    reset_peak(torch, device)
    runs = []
    repeats = max(1, int(cfg.get("repeats", REPEATS) or 1))
    for index in range(repeats):
        progress("generate", "generating up to %d frames (run %d of %d)"
                 % (cfg["max_frames"], index + 1, repeats), frame=0, frames=cfg["max_frames"])
        watch = FrameWatch(cfg["max_frames"], skip_first=not official)
        t0 = now()
        audio, rate, frames, per_frame, eos = generate(watch)
        seconds = now() - t0
        samples = int(audio.shape[-1]) if hasattr(audio, "shape") and len(audio.shape) else 0
        rtf = seconds / (samples / float(rate)) if samples and rate else None
        runs.append({"seconds": seconds, "rtf": rtf, "first_frame": watch.first_frame,
                     "out": (audio, rate, frames, per_frame, eos)})
    ranked = sorted(runs, key=lambda r: (r["rtf"] is None, r["rtf"] or 0.0))
    chosen = ranked[(len(ranked) - 1) // 2]  # the median run (the lower one of an even count)
    audio, rate, frames, per_frame, eos = chosen["out"]
    result["timings"]["generate"] = chosen["seconds"]
    result["timings"]["first_frame"] = chosen["first_frame"]
    result["timings"]["generate_runs"] = [r["seconds"] for r in runs]
    result["timings"]["rtf_runs"] = [r["rtf"] for r in runs]
    peak, peak_kind = peak_memory(torch, device)
    result["memory"].update({"peak_mib": peak, "kind": peak_kind})
    result.update({"frames": frames, "samples_per_frame": per_frame, "stopped_at_eos": eos})

    result["stage"] = "write"
    progress("write", "writing %s" % cfg["wav_path"])
    clean, stats = describe_audio(torch, audio)
    stats["sample_rate"] = rate
    stats["gain"] = write_wav(torch, clean, rate, cfg["wav_path"], stats["peak"])
    result["audio"] = stats
    result["wav_path"] = cfg["wav_path"]
    result["plot"] = plot_data(torch, clean, rate, stats["gain"], cfg["image"])
    result["ok"] = True
    result["stage"] = "done"


def isolate():
    """Running a file puts its folder first on sys.path, and the user's working directory may
    hold a stray torch/ or transformers/: neither may shadow the environment's packages. Packages
    print on import and while loading: stdout is kept for the result alone."""
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if p not in ("", ".", os.getcwd(), here)]
    # Started with -I, which ignores PYTHONPATH: the user's absolute entries go back in front.
    for entry in reversed([p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                           if p and os.path.isabs(p)]):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    real_stdout = sys.stdout
    sys.stdout = sys.stderr
    return real_stdout


def main():
    real_stdout = isolate()
    cfg = json.loads(sys.argv[1])
    result = {"ok": False, "stage": "start", "kind": cfg.get("kind"), "model_id": cfg.get("model_id"),
              "versions": versions(),
              "timings": {}, "memory": {}, "env_set": {}, "fault": FAULT or None,
              "hf_offline": os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0", "false", "False"),
              "error": None}
    try:
        run(cfg, result)
    except DeviceUnavailable as exc:
        result["device_error"] = {"requested": exc.device, "why": exc.why}
        result["error"] = error_record(exc, result["stage"])
    except BaseException as exc:  # noqa: B036 - everything is reported, nothing escapes
        result["error"] = error_record(exc, result["stage"])
    real_stdout.write("\n" + MARKER + "\n" + json.dumps(result, default=str) + "\n")
    real_stdout.flush()


if __name__ == "__main__":
    main()
