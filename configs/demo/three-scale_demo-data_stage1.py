# The README demo, stage 1: the paper's denoiser (L1, bfloat16 autocast) on patches of the 15
# photos bundled in mmsemdenoise/demo_data/train, Gaussian sigma = 25; PSNR on demo_data/val.
# tools/demo.py runs it (and points data_root at the installed package's copy).
_base_ = '../denoise/three-scale_bsd400_sigma25_cpu-1h.py'
data_root = 'mmsemdenoise/demo_data'
max_iters = 600
train_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, data_prefix=dict(img_path='train')))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, data_prefix=dict(img_path='val')))
test_dataloader = val_dataloader
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=1e-5, by_epoch=False)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(logger=dict(interval=100),
                     checkpoint=dict(interval=max_iters, max_keep_ckpts=1, save_best=None))
