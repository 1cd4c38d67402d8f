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
_base_ = ['../task_models/efficientnet-lite0_in1k.py', '../_base_/models/denoising_cascade.py']

denoiser_checkpoint = 'work_dirs/three-scale_bsd400_sigma25_cpu-1h'
task_checkpoint = 'checkpoints/efficientnet-lite0_in1k.pth'
model = dict(
    _base_.cascade,
    task_model=_base_.model,
    denoiser_checkpoint=denoiser_checkpoint,
    task_checkpoint=task_checkpoint,
    task_target='clean_prediction',
    # KL to the clean prediction has the gradient scale of a cross-entropy, so the paper's
    # classification lambda (266 relative to per-pixel MSE on 0-255 images) carries over
    loss=dict(type='JointLoss', task_weight=266 / 255**2))

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

optim_wrapper = _base_.cascade_optim_wrapper
train_cfg = dict(type='IterBasedTrainLoop', max_iters=100, val_interval=10**9)  # validate at the end
param_scheduler = [dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=False)]
val_evaluator = [dict(type='mmpretrain.Accuracy', topk=(1, 5)), *_base_.denoise_metrics]
test_evaluator = val_evaluator
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=10**9, max_keep_ckpts=1))
