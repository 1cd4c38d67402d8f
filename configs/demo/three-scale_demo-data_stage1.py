# The README demo, stage 1: the paper's denoiser (L1, bfloat16 autocast) on patches of the 15
# photos bundled in mmsemdenoise/demo_data/train, Gaussian sigma = 25; PSNR on demo_data/val.
# tools/demo.py runs it (and points data_root at the installed package's copy).
_base_ = '../denoise/three-scale_bsd400_sigma25_cpu-1h.py'
data_root = 'mmsemdenoise/demo_data'
train_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, data_prefix=dict(img_path='train')))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, data_prefix=dict(img_path='val')))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=600)
