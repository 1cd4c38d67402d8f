# Stage 1 on this CPU in about an hour: the paper's denoiser at sigma = 25, ONE thread, 10000
# iterations of 16 patches of 64x64 with bfloat16 autocast (../_base_/schedules/adam_cosine_10k_cpu-bf16.py).
# L1 loss: at this budget it trains faster than MSE and ends higher in PSNR (GPU recipe search
# at the same iterations, batch and patch: 31.11 vs 30.62 dB on CBSD68 after 7500 of 10000
# iterations; docs/results.md).
# Run it with OMP_NUM_THREADS=1 when anything else uses the CPU: two OpenMP threads on two busy
# cores run ~8x slower than one (measured here).
_base_ = [
    '../_base_/models/three_scale_denoiser.py',
    '../_base_/datasets/bsd400_denoise.py',
    '../_base_/schedules/adam_cosine_10k_cpu-bf16.py',
    '../_base_/default_runtime.py',
]
model = dict(loss=dict(rec_loss=dict(type='L1Loss')))
train_dataloader = dict(batch_size=16, num_workers=1)
val_dataloader = dict(num_workers=1)
default_hooks = dict(logger=dict(interval=100), checkpoint=dict(interval=1000, max_keep_ckpts=1))
