# Label-free stage 2 over a noise range for classification (model zoo II, (d)): the shipped blind
# denoiser (mmsemdenoise://three-scale_blind_bsd400) in front of the frozen ImageNet
# EfficientNet-Lite0, trained on the unlabelled BSD400 photos with
# L = MSE + lambda * KL(clean prediction || prediction on the denoised image), Gaussian
# sigma ~ U[0, 60] per photo (the sweep's range). Validation without labels on the 92 photos of
# CBSD68 + Kodak24 at sigma 30. 500 iterations x batch 4 (7.5 s each, ~65 min on one AVX2
# thread in float32); the shipped three-scale_lite0-labelfree_bsd400 was trained with this file.
#   python tools/convert_efficientnet_lite0.py checkpoints/efficientnet-lite0_in1k.pth
#   OMP_NUM_THREADS=1 python tools/train.py configs/cascade/efficientnet-lite0_denoise-blind-labelfree_bsd400_cpu.py
_base_ = ['./efficientnet-lite0_denoise-labelfree_bsd400_cpu.py']

model = dict(
    denoiser_checkpoint='mmsemdenoise://three-scale_blind_bsd400',
    noise=dict(sigma=(0, 60)),
    test_noise=dict(type='GaussianNoise', sigma=30))
train_cfg = dict(max_iters=500)
default_hooks = dict(logger=dict(interval=25), checkpoint=dict(interval=250, max_keep_ckpts=2))
