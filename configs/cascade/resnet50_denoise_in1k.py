# Stage 2 (the paper's classification setting): the 3-scale denoiser in front of a frozen
# ResNet-50 trained on ImageNet-1k (mmpretrain's config and released checkpoint), sigma = 30.
# Data, pipeline and accuracy metric are mmpretrain's; PSNR/SSIM measure the denoised images.
_base_ = ['mmpretrain::resnet/resnet50_8xb32_in1k.py', '../_base_/models/denoising_cascade.py']
default_scope = 'mmsemdenoise'

model = dict(
    _base_.cascade,
    task_model=_base_.model,
    # mmpretrain keeps the classifier's preprocessor (mean/std, BGR->RGB) at the top level
    task_data_preprocessor=_base_.data_preprocessor,
    denoiser_checkpoint='work_dirs/three-scale_bsd400_blind',
    task_checkpoint=('https://download.openmmlab.com/mmclassification/v0/resnet/'
                     'resnet50_8xb32_in1k_20210831-ea4938fc.pth'),
    noise=dict(type='GaussianNoise', sigma=30),
    # lambda = 266 relative to per-pixel MSE on 0-255 images (the released code) = 266 / 255**2
    loss=dict(type='JointLoss', task_weight=266 / 255**2))
data_preprocessor = None  # moved into the task model above
optim_wrapper = dict(_delete_=True, **_base_.cascade_optim_wrapper)  # replaces the task's
param_scheduler = [dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True)]
train_cfg = dict(max_epochs=5)
val_evaluator = [_base_.val_evaluator, *_base_.denoise_metrics]
test_evaluator = val_evaluator
# exact resume, atomic checkpoints (the upstream runtime has neither), checkpoints that carry the
# denoiser's architecture, validation images
custom_hooks = [*_base_.resume_hooks, _base_.architecture_hook, _base_.denoise_vis_hook]
default_hooks = dict(checkpoint=_base_.atomic_checkpoint)
randomness = dict(seed=0)
