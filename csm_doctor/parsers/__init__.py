"""Pure text parsers for tool outputs (nvidia-smi, ffmpeg, npu-smi): the same code reads live probes and pasted logs."""
