# Stage 1 on a 2-core CPU in about an hour: the paper's denoiser at sigma = 25.
# 5000 iterations of 16 patches of 64x64, Adam, cosine learning rate 1e-3 -> 1e-5; CBSD68
# evaluated at the end. Run it with OMP_NUM_THREADS=1 when anything else uses the CPU: two
# OpenMP threads on two busy cores run ~8x slower than one (measured here).
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
max_iters = 5000
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=1e-5, by_epoch=False)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(logger=dict(interval=100),
                     checkpoint=dict(interval=1000, max_keep_ckpts=1, save_best=None))
