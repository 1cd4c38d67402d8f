# As efficientnet-lite1_denoise_cbsd68-kodak24_eval.py, in front of EfficientNet-Lite2 (260x260).
#   python tools/convert_efficientnet_lite.py configs/task_models/efficientnet-lite2_in1k.py \
#       checkpoints/efficientnet-lite2_3rdparty_in1k.pth
_base_ = ['./efficientnet-lite1_denoise_cbsd68-kodak24_eval.py']

arch, crop = 'l2', 260
model = dict(task_model=dict(backbone=dict(arch=arch)),
             task_checkpoint=f'checkpoints/efficientnet-{arch.replace("l", "lite")}_3rdparty_in1k.pth')
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmpretrain.EfficientNetCenterCrop', crop_size=crop, crop_padding=32,
         interpolation='bicubic'),
    dict(type='mmpretrain.PackInputs'),
]
val_dataloader = dict(dataset=dict(datasets=[
    dict(type='CleanImageFolder', data_root=_base_.denoise_root, data_prefix=dict(img_path=folder),
         pipeline=test_pipeline, test_mode=True)
    for folder in ('CBSD68', 'Kodak24')]))
test_dataloader = val_dataloader
