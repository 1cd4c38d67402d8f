"""What the hardware offers: probes the optimizer wrappers and the benchmarks share."""
import torch


def cpu_has_native_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 convolutions natively (oneDNN: AVX512-BF16, AMX, or
    AVX512 cores); without that, oneDNN emulates them, far slower than float32."""
    check = getattr(torch.ops.mkldnn, '_is_mkldnn_bf16_supported', None)
    if check is not None:
        return bool(check())
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
