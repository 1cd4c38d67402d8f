# The README demo, stage 2 (label-free): the shipped blind denoiser (mmsemdenoise://
# three-scale_blind_bsd400) in front of the frozen ImageNet EfficientNet-Lite0, trained with
# L = MSE + lambda * KL(clean prediction || prediction on the denoised image) on the unlabelled
# demo_data/train photos, Gaussian sigma ~ U[0, 60] per photo (the sweep's range).
# Validation on demo_data/val (13 labelled photos): top-1/top-5, agreement of the top-1 with the
# clean image's (CleanAgreement: needs no label), PSNR/SSIM of the denoised input.
# tools/demo.py sets the two checkpoints and points data_root at the installed package's copy.
_base_ = ['../cascade/efficientnet-lite0_denoise-labelfree_check.py']

data_root = 'mmsemdenoise/demo_data'
model = dict(
    denoiser_checkpoint='mmsemdenoise://three-scale_blind_bsd400',
    task_checkpoint='work_dirs/demo/efficientnet-lite0_in1k.pth',
    noise=dict(sigma=(0, 60)),
    predict_clean=True)
train_dataloader = dict(dataset=dict(data_root=data_root, data_prefix=dict(img_path='train')))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
# a short, gentle fine-tune of an already trained denoiser: 30 Adam steps from a peak of 2e-5.
# At the cascade's usual 1e-4 the first steps move it off its optimum faster than 30 steps can
# repay (val, sigma 0, from the 6100-iteration blind file: 38.91 dB vs its 42.93 after 30 steps;
# 42.24 dB at 2e-5).
optim_wrapper = dict(type='AutocastOptimWrapper', optimizer=dict(lr=2e-5))
train_cfg = dict(max_iters=30)
val_evaluator = [dict(type='mmpretrain.Accuracy', topk=(1, 5)),
                 dict(type='mmsemdenoise.CleanAgreement'), *_base_.denoise_metrics]
test_evaluator = val_evaluator
default_hooks = dict(logger=dict(interval=50))
