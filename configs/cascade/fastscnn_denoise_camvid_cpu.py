# Stage 2 at CPU scale: the 3-scale denoiser (stage 1: denoise/three-scale_bsd400_sigma25_cpu-1h)
# in front of the frozen Fast-SCNN trained here on CamVid (task_models/fastscnn_camvid-180x240_cpu,
# shipped: mmsemdenoise://fastscnn_camvid-180x240_cpu, 55.47 mIoU on CamVid val),
# Gaussian noise sigma = 25, joint loss with the segmentation lambda of the released code.
# The denoiser runs under bfloat16 autocast where the CPU has it natively (AVX512-BF16, AMX): ~1.0 s
# per iteration of 4 crops on one core, ~5 minutes; float32 elsewhere, ~3 s, ~15 minutes
# (docs/benchmarks.md, "Joint step"). The denoiser dominates.
_base_ = ['../task_models/fastscnn_camvid-180x240_cpu.py', '../_base_/models/denoising_cascade.py']

# the handover: each is a run's work dir (its last checkpoint), a checkpoint file or a shipped name
denoiser_checkpoint = 'work_dirs/three-scale_bsd400_sigma25_cpu-1h'
task_checkpoint = 'mmsemdenoise://fastscnn_camvid-180x240_cpu'
model = dict(
    _base_.cascade,
    task_model=_base_.model,
    denoiser_checkpoint=denoiser_checkpoint,
    task_checkpoint=task_checkpoint,
    # under autocast the frozen Fast-SCNN stays float32: faster on a CPU, and its gradient exact
    task_float32=True,
    # lambda = 1286 relative to per-pixel MSE on 0-255 images (the released code) = 1286 / 255**2
    loss=dict(type='JointLoss', task_weight=1286 / 255**2))
# replaces the task's; bfloat16 autocast, float32 on a CPU without native bfloat16
optim_wrapper = dict(_base_.cascade_optim_wrapper, _delete_=True, type='AutocastOptimWrapper')
train_dataloader = dict(batch_size=4)
train_cfg = dict(max_iters=300)
param_scheduler = [dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=False)]
val_evaluator = [_base_.val_evaluator, *_base_.denoise_metrics]
test_evaluator = val_evaluator
default_hooks = dict(logger=dict(interval=10))
# the task config's hooks, plus the denoiser's architecture in each checkpoint and
# noisy | denoised | clean | prediction | labels at each validation
custom_hooks = [*_base_.custom_hooks, _base_.architecture_hook, _base_.denoise_vis_hook]
