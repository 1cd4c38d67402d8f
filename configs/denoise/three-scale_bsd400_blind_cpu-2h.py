# Stage 1, blind, on this CPU in about two hours: the paper's denoiser with Gaussian sigma drawn
# per training image from U[0, 75] (FFDNet's range: every sweep level and the noise corruptions up
# to sigma ~66 lie inside), the 1-hour recipe otherwise (L1, bfloat16 autocast, 16 patches of
# 64x64, ONE thread), 18000 iterations. Validation at sigma 25; other levels:
#   python tools/test.py THIS_CONFIG CKPT --cfg-options model.test_noise.sigma=S
# Its weights ship as mmsemdenoise://three-scale_blind_bsd400 (configs/denoise/metafile.yml).
#   OMP_NUM_THREADS=1 python tools/train.py configs/denoise/three-scale_bsd400_blind_cpu-2h.py
_base_ = './three-scale_bsd400_sigma25_cpu-1h.py'
model = dict(noise=dict(sigma=(0, 75)), test_noise=dict(type='GaussianNoise', sigma=25))
train_cfg = dict(max_iters=18000)
