# Stage 2 over a noise range (model zoo II, (a)): the shipped blind denoiser
# (mmsemdenoise://three-scale_blind_bsd400, trained on sigma ~ U[0, 75]) in front of the frozen
# shipped CamVid Fast-SCNN, joint loss with the CamVid labels, Gaussian sigma ~ U[0, 60] per image
# (the sweep's range), so one model serves every level a user may meet, clean input included.
# Validation at sigma 30 (the middle of the range). ~3 s per iteration of 4 crops in float32 on
# one AVX2 core, ~1 s under bfloat16 autocast on a CPU with AVX512-BF16.
#   OMP_NUM_THREADS=1 python tools/train.py configs/cascade/fastscnn_denoise-blind_camvid_cpu.py
_base_ = ['./fastscnn_denoise_camvid_cpu.py']

model = dict(
    denoiser_checkpoint='mmsemdenoise://three-scale_blind_bsd400',
    noise=dict(sigma=(0, 60)),
    test_noise=dict(type='GaussianNoise', sigma=30))
train_cfg = dict(max_iters=1000, val_interval=1000)
default_hooks = dict(logger=dict(interval=25), checkpoint=dict(interval=250))
