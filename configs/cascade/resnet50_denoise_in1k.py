# Stage 2 (the paper's classification setting): the 3-scale denoiser in front of a frozen
# ResNet-50 trained on ImageNet-1k (mmpretrain's config and released checkpoint), sigma = 30.
# Data, pipeline and accuracy metric are mmpretrain's; PSNR/SSIM measure the denoised images.
_base_ = ['mmpretrain::resnet/resnet50_8xb32_in1k.py']
default_scope = 'mmsemdenoise'

sigma = 30
denoiser_checkpoint = 'work_dirs/three-scale_bsd400_blind/iter_100000.pth'
task_checkpoint = ('https://download.openmmlab.com/mmclassification/v0/resnet/'
                   'resnet50_8xb32_in1k_20210831-ea4938fc.pth')
model = dict(
    _delete_=True,
    type='DenoisingCascade',
    data_preprocessor=dict(type='PixelPreprocessor', bgr_to_rgb=True),
    denoiser=dict(type='ThreeScaleDenoiser',
                  init_cfg=dict(type='Pretrained', checkpoint=denoiser_checkpoint,
                                prefix='denoiser.')),
    noise=dict(type='GaussianNoise', sigma=sigma),
    task_model=_base_.model,
    # mmpretrain keeps the classifier's preprocessor (mean/std, BGR->RGB) at the top level
    task_data_preprocessor=_base_.data_preprocessor,
    task_checkpoint=task_checkpoint,
    # lambda = 266 relative to per-pixel MSE on 0-255 images (the released code) = 266 / 255**2
    loss=dict(type='JointLoss', rec_loss=dict(type='MSELoss'), rec_weight=1.0,
              task_weight=266 / 255**2))
data_preprocessor = None  # moved into the task model above

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    constructor='TrainableParamsOptimWrapperConstructor',
    optimizer=dict(type='Adam', lr=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=5, eta_min=1e-6, by_epoch=True)]
train_cfg = dict(by_epoch=True, max_epochs=5, val_interval=1)
val_evaluator = [dict(type='mmpretrain.Accuracy', topk=(1, 5)), dict(type='mmsemdenoise.PSNR'),
                 dict(type='mmsemdenoise.SSIM')]
test_evaluator = val_evaluator
# (metric types carry their scope: upstream loops are built in the upstream scope)
