# Stage 1 on this CPU in about an hour: the paper's denoiser at sigma = 25, ONE thread.
# L1 loss: at this budget it trains faster than MSE and ends higher in PSNR (GPU recipe search
# at the same iterations, batch and patch: 31.11 vs 30.62 dB on CBSD68 after 7500 of 10000
# iterations; docs/results.md).
# bfloat16 autocast (AutocastOptimWrapper) makes a training step 1.7x faster on a CPU with
# AVX512-BF16 (measured here: 0.34 s vs 0.58 s for 16 patches of 64x64); weights, optimizer and
# the CBSD68 evaluation at the end stay float32.
# Run it with OMP_NUM_THREADS=1 when anything else uses the CPU: two OpenMP threads on two busy
# cores run ~8x slower than one (measured here).
_base_ = './three-scale_bsd400_sigma25.py'
patch_size = 64
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmpretrain.RandomCrop', crop_size=patch_size, pad_if_needed=True,
         padding_mode='reflect'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomRot90'),
    dict(type='mmpretrain.PackInputs', meta_keys={{_base_.meta_keys}}),
]
train_dataloader = dict(batch_size=16, num_workers=1, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(num_workers=1)
max_iters = 10000
model = dict(loss=dict(rec_loss=dict(type='L1Loss')))
optim_wrapper = dict(type='AutocastOptimWrapper', optimizer=dict(type='Adam', lr=1e-3))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=1e-5, by_epoch=False)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(logger=dict(interval=100),
                     checkpoint=dict(interval=1000, max_keep_ckpts=1, save_best=None))
