# Stage 2 (the paper's segmentation setting): the 3-scale denoiser in front of a frozen
# DeepLabV3 R50-D8 trained on VOC2012 + aug (512x512), Gaussian noise sigma = 30.
#
# The task model is mmseg's own config, unmodified (it keeps `_scope_='mmseg'` from the
# `mmseg::` base), frozen, and loaded from mmseg's released checkpoint. Only the denoiser trains,
# on L = L_rec + lambda * L_task (see README, "Loss scale"). Data, metrics, visualizer and schedule
# are mmseg's; IoU is measured on the denoised noisy images, PSNR/SSIM on the denoised images.
_base_ = ['mmseg::deeplabv3/deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512.py',
          '../_base_/models/denoising_cascade.py']
default_scope = 'mmsemdenoise'

model = dict(
    _base_.cascade,
    task_model=_base_.model,
    # a stage-1 work dir, checkpoint or shipped name, e.g. a run of denoise/three-scale_bsd400_blind.py
    denoiser_checkpoint='work_dirs/three-scale_bsd400_blind',
    task_checkpoint=('https://download.openmmlab.com/mmsegmentation/v0.5/deeplabv3/'
                     'deeplabv3_r50-d8_512x512_20k_voc12aug/'
                     'deeplabv3_r50-d8_512x512_20k_voc12aug_20200617_010906-596905ef.pth'),
    noise=dict(type='GaussianNoise', sigma=30),
    # lambda = 1286 relative to per-pixel MSE on 0-255 images (the released code) = 1286 / 255**2
    loss=dict(type='JointLoss', task_weight=1286 / 255**2))
optim_wrapper = dict(_delete_=True, **_base_.cascade_optim_wrapper)  # replaces the task's
param_scheduler = [dict(type='PolyLR', eta_min=1e-6, power=0.9, by_epoch=False)]
val_evaluator = [_base_.val_evaluator, *_base_.denoise_metrics]
test_evaluator = val_evaluator
# exact resume, atomic checkpoints (the upstream runtime has neither), checkpoints that carry the
# denoiser's architecture, validation images
custom_hooks = [*_base_.resume_hooks, _base_.architecture_hook, _base_.denoise_vis_hook]
default_hooks = dict(checkpoint=_base_.atomic_checkpoint)
randomness = dict(seed=0)
