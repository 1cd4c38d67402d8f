# Stage 2, shared by every task: the paper's denoiser in front of a frozen task model. Inherit this
# NEXT TO an unmodified task config and say only what differs:
#
#   _base_ = ['mmseg::deeplabv3/...py', 'mmsemdenoise::_base_/models/denoising_cascade.py']
#   model = dict(_base_.cascade, task_model=_base_.model, task_checkpoint=...,
#                denoiser_checkpoint=..., noise=..., loss=dict(type='JointLoss', task_weight=...))
#   (the denoiser is built with the architecture its checkpoint carries)
#   optim_wrapper = dict(_delete_=True, **_base_.cascade_optim_wrapper)  # replaces the task's
#   val_evaluator = [_base_.val_evaluator, *_base_.denoise_metrics]
#
# The names below differ from the task config's keys (mmengine refuses a key defined in two bases);
# `_delete_` makes the cascade replace the task config's model rather than merge into it.
cascade = dict(
    _delete_=True,
    type='DenoisingCascade',
    data_preprocessor=dict(type='PixelPreprocessor', bgr_to_rgb=True),
    # a stage-1 work dir (its last checkpoint), a checkpoint file or a shipped name: it carries
    # the denoiser's architecture too (the run's config in the file, or the name's metafile
    # config), so no `denoiser=` here; one declared anyway must agree with it
    denoiser_checkpoint='mmsemdenoise://three-scale_blind_bsd400',
    noise=dict(type='GaussianNoise', sigma=25),
    loss=dict(type='JointLoss', rec_loss=dict(type='MSELoss'), task_weight=0.0))
# only the denoiser trains: the constructor keeps the frozen task model out of the optimizer;
# a NaN/Inf loss term or gradient stops training, naming the iteration and term, before the step
cascade_optim_wrapper = dict(
    type='FiniteCheckOptimWrapper',
    constructor='TrainableParamsOptimWrapperConstructor',
    optimizer=dict(type='Adam', lr=1e-4))
# PSNR/SSIM of the denoised images, next to the task metrics (scoped names: upstream loops build
# their evaluators in the upstream scope)
denoise_metrics = [dict(type='mmsemdenoise.PSNR'), dict(type='mmsemdenoise.SSIM')]
# Exact resume, atomic checkpoints, checkpoints that carry the denoiser's architecture
# (meta['model_cfg']: a stage-2 file is then readable without its stage-1 file) and the
# validation images (noisy | denoised | clean | prediction of the first val images, to the
# visualizer backends). A task config built on this package's runtime
# (configs/_base_/default_runtime.py) has them already; one on an upstream runtime adds
#   custom_hooks = [*_base_.resume_hooks, _base_.architecture_hook, _base_.denoise_vis_hook]
#   default_hooks = dict(checkpoint=_base_.atomic_checkpoint)
#   randomness = dict(seed=0)   # a resumed run repeats the data order only with a fixed seed
resume_hooks = [dict(type='mmsemdenoise.RandomStateHook')]
atomic_checkpoint = dict(backend_args=dict(backend='atomic_local'))
architecture_hook = dict(type='mmsemdenoise.DenoiserArchitectureHook')
denoise_vis_hook = dict(type='mmsemdenoise.DenoiseVisualizationHook', num_images=4)
