# Stage 1, full protocol (GPU): the paper's denoiser on BSD400 patches at sigma = 25.
# 100k iterations of 64 patches of 64x64 (~ the pixels per step of DnCNN's 128 x 40x40),
# Adam, cosine learning rate 1e-3 -> 1e-6. Validation on CBSD68 with the same, seeded, noise.
_base_ = [
    '../_base_/models/three_scale_denoiser.py',
    '../_base_/datasets/bsd400_denoise.py',
    '../_base_/schedules/adam_cosine_100k.py',
    '../_base_/default_runtime.py',
]
default_hooks = dict(checkpoint=dict(save_best='denoise/psnr', rule='greater'))
