# Label-free stage 2 for classification at CPU scale: the 3-scale denoiser (stage 1:
# denoise/three-scale_bsd400_sigma25_cpu-1h) in front of the frozen EfficientNet-Lite0 ImageNet
# classifier (task_models/efficientnet-lite0_in1k), Gaussian noise sigma = 25. The task term is
# the KL divergence between the classifier's outputs on the denoised and on the clean image, so
# training reads no label; validation measures ImageNet top-1/top-5 on the denoised images and
# their PSNR/SSIM. Data: the check set of real photos (tools/build_check_set.py), which trains
# and validates on the same 14 images: a check that the whole chain works, not an experiment.
#   python tools/convert_efficientnet_lite0.py checkpoints/efficientnet-lite0_in1k.pth
#   python tools/build_check_set.py data/imagenet-check
#   python tools/train.py configs/cascade/efficientnet-lite0_denoise-labelfree_check.py
_base_ = ['../task_models/efficientnet-lite0_in1k.py']

sigma = 25
denoiser_checkpoint = 'work_dirs/three-scale_bsd400_sigma25_cpu-1h/iter_10000.pth'
task_checkpoint = 'checkpoints/efficientnet-lite0_in1k.pth'
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
    task_target='clean_prediction',
    distill_temperature=1.0,
    # KL to the clean prediction has the gradient scale of a cross-entropy, so the paper's
    # classification lambda (266 relative to per-pixel MSE on 0-255 images) carries over
    loss=dict(type='JointLoss', rec_loss=dict(type='MSELoss'), rec_weight=1.0,
              task_weight=266 / 255**2))

# training reads the images only (no annotation file): a plain folder of clean photos
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmpretrain.RandomResizedCrop', scale=224, crop_ratio_range=(0.25, 1.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.PackInputs'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='CleanImageFolder', data_root=_base_.data_root,
                 data_prefix=dict(img_path='val'), pipeline=train_pipeline))

optim_wrapper = dict(
    type='OptimWrapper',
    constructor='TrainableParamsOptimWrapperConstructor',
    optimizer=dict(type='Adam', lr=1e-4))
max_iters = 100
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=1e-6, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_evaluator = [dict(type='mmpretrain.Accuracy', topk=(1, 5)), dict(type='mmsemdenoise.PSNR'),
                 dict(type='mmsemdenoise.SSIM')]
test_evaluator = val_evaluator
# (metric types carry their scope: upstream loops are built in the upstream scope)
default_hooks = dict(logger=dict(interval=10),
                     checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
