# The README demo, stage 2 (label-free): the stage-1 denoiser (demo/three-scale_demo-data_stage1)
# in front of the frozen ImageNet EfficientNet-Lite0, trained with L = MSE + lambda * KL(clean
# prediction || prediction on the denoised image) on the unlabelled demo_data/train photos.
# Validation on demo_data/val (13 labelled photos): top-1/top-5, agreement of the top-1 with the
# clean image's (CleanAgreement: needs no label), PSNR/SSIM of the denoised input.
# tools/demo.py sets the two checkpoints and points data_root at the installed package's copy.
_base_ = ['../cascade/efficientnet-lite0_denoise-labelfree_check.py']

data_root = 'mmsemdenoise/demo_data'
denoiser_checkpoint = 'work_dirs/demo/stage1/iter_600.pth'
task_checkpoint = 'work_dirs/demo/efficientnet-lite0_in1k.pth'
model = dict(
    denoiser=dict(init_cfg=dict(checkpoint=denoiser_checkpoint)),
    task_checkpoint=task_checkpoint,
    predict_clean=True)
train_dataloader = dict(dataset=dict(data_root=data_root, data_prefix=dict(img_path='train')))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
optim_wrapper = dict(type='AutocastOptimWrapper')
max_iters = 150
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=1e-6, by_epoch=False)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
val_evaluator = [dict(type='mmpretrain.Accuracy', topk=(1, 5)),
                 dict(type='mmsemdenoise.CleanAgreement'),
                 dict(type='mmsemdenoise.PSNR'), dict(type='mmsemdenoise.SSIM')]
test_evaluator = val_evaluator
default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
