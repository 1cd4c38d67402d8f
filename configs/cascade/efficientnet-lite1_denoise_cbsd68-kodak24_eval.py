# Cross-architecture evaluation (the protocol of Transferable Recognition-Aware image processing):
# a denoiser trained in front of EfficientNet-Lite0 (or with no classifier at all), put in front
# of the frozen ImageNet EfficientNet-Lite1, which it never saw. The 92 photos of CBSD68 + Kodak24
# at Lite1's own 240x240 evaluation crop; top-1 agreement with Lite1's prediction on the clean
# photo, PSNR/SSIM of its input. For tools/analysis/noise_sweep.py (no training):
#   python tools/convert_efficientnet_lite.py configs/task_models/efficientnet-lite1_in1k.py \
#       checkpoints/efficientnet-lite1_3rdparty_in1k.pth
#   python tools/analysis/noise_sweep.py configs/cascade/efficientnet-lite1_denoise_cbsd68-kodak24_eval.py \
#       --variant NAME=CHECKPOINT ... --sigmas 0 15 30 45 60
_base_ = ['./efficientnet-lite0_denoise-blind-labelfree_bsd400_cpu.py']

model = dict(task_model=dict(backbone=dict(arch='l1')),
             task_checkpoint='checkpoints/efficientnet-lite1_3rdparty_in1k.pth')
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmpretrain.EfficientNetCenterCrop', crop_size=240, crop_padding=32,
         interpolation='bicubic'),
    dict(type='mmpretrain.PackInputs'),
]
# a ConcatDataset's list is replaced whole (mmengine merges dicts, not list items)
val_dataloader = dict(dataset=dict(datasets=[
    dict(type='CleanImageFolder', data_root=_base_.denoise_root, data_prefix=dict(img_path=folder),
         pipeline=test_pipeline, test_mode=True)
    for folder in ('CBSD68', 'Kodak24')]))
test_dataloader = val_dataloader
