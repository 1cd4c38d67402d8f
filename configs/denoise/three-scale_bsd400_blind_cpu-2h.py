# Stage 1, blind, on this CPU in about two hours: the paper's denoiser with Gaussian sigma drawn
# per training image from U[0, 75] (FFDNet's range: every sweep level and the noise corruptions up
# to sigma ~66 lie inside), the 1-hour recipe otherwise (L1, bfloat16 autocast, 16 patches of
# 64x64, ONE thread). Validation at sigma 25; tools/test.py with --cfg-options
# model.test_noise.sigma=S evaluates other levels (docs/results.md).
#   OMP_NUM_THREADS=1 python tools/train.py configs/denoise/three-scale_bsd400_blind_cpu-2h.py
_base_ = './three-scale_bsd400_sigma25_cpu-1h.py'
max_iters = 18000
model = dict(noise=dict(sigma=(0, 75)), test_noise=dict(type='GaussianNoise', sigma=25))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=1e-5, by_epoch=False)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
