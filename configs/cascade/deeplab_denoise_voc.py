# Stage 2 (the paper's segmentation setting): the 3-scale denoiser in front of a frozen
# DeepLabV3 R50-D8 trained on VOC2012 + aug (512x512), Gaussian noise sigma = 30.
#
# The task model is mmseg's own config, unmodified (it keeps `_scope_='mmseg'` from the
# `mmseg::` base), frozen, and loaded from mmseg's released checkpoint. Only the denoiser trains,
# on L = L_rec + lambda * L_task (see README, "Loss scale"). Data, metrics, visualizer and schedule
# are mmseg's; IoU is measured on the denoised noisy images, PSNR/SSIM on the denoised images.
_base_ = ['mmseg::deeplabv3/deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512.py']
default_scope = 'mmsemdenoise'

sigma = 30
# a stage-1 checkpoint (e.g. from configs/denoise/three-scale_bsd400_blind.py); the prefix picks
# the denoiser's weights out of the stage-1 cascade's state dict
denoiser_checkpoint = 'work_dirs/three-scale_bsd400_blind/iter_100000.pth'
task_checkpoint = ('https://download.openmmlab.com/mmsegmentation/v0.5/deeplabv3/'
                   'deeplabv3_r50-d8_512x512_20k_voc12aug/'
                   'deeplabv3_r50-d8_512x512_20k_voc12aug_20200617_010906-596905ef.pth')
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
    # lambda = 1286 relative to per-pixel MSE on 0-255 images (the released code) = 1286 / 255**2
    loss=dict(type='JointLoss', rec_loss=dict(type='MSELoss'), rec_weight=1.0,
              task_weight=1286 / 255**2))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    constructor='TrainableParamsOptimWrapperConstructor',  # the frozen task model stays out
    optimizer=dict(type='Adam', lr=1e-4))
param_scheduler = [dict(type='PolyLR', eta_min=1e-6, power=0.9, begin=0, end=20000,
                        by_epoch=False)]
val_evaluator = [dict(type='mmseg.IoUMetric', iou_metrics=['mIoU']),
                 dict(type='mmsemdenoise.PSNR'), dict(type='mmsemdenoise.SSIM')]
test_evaluator = val_evaluator
# (metric types carry their scope: upstream loops are built in the upstream scope)
