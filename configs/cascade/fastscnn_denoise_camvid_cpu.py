# Stage 2 at CPU scale: the 3-scale denoiser (stage 1: denoise/three-scale_bsd400_sigma25_cpu-1h)
# in front of the frozen Fast-SCNN trained here on CamVid (task_models/fastscnn_camvid-180x240_cpu),
# Gaussian noise sigma = 25, joint loss with the segmentation lambda of the released code.
_base_ = ['../task_models/fastscnn_camvid-180x240_cpu.py']

sigma = 25
denoiser_checkpoint = 'work_dirs/three-scale_bsd400_sigma25_cpu-1h/iter_10000.pth'
task_checkpoint = 'work_dirs/fastscnn_camvid-180x240_cpu/iter_4000.pth'
model = dict(
    _delete_=True,
    type='DenoisingCascade',
    data_preprocessor=dict(type='PixelPreprocessor', bgr_to_rgb=True),
    denoiser=dict(type='ThreeScaleDenoiser',
                  init_cfg=dict(type='Pretrained', checkpoint=denoiser_checkpoint,
                                prefix='denoiser.')),
    noise=dict(type='GaussianNoise', sigma=sigma),
    task_model=_base_.model,
    task_checkpoint=task_checkpoint,
    loss=dict(type='JointLoss', rec_loss=dict(type='MSELoss'), rec_weight=1.0,
              task_weight=1286 / 255**2))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    constructor='TrainableParamsOptimWrapperConstructor',
    optimizer=dict(type='Adam', lr=1e-4))
# ~3 s per iteration of 4 crops on one busy CPU core (the denoiser dominates): ~15 minutes
train_dataloader = dict(batch_size=4)
max_iters = 300
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=1e-6, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_evaluator = [dict(type='mmseg.IoUMetric', iou_metrics=['mIoU']),
                 dict(type='mmsemdenoise.PSNR'), dict(type='mmsemdenoise.SSIM')]
test_evaluator = val_evaluator
# (metric types carry their scope: upstream loops are built in the upstream scope)
default_hooks = dict(logger=dict(interval=10),
                     checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
