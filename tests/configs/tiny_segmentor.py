"""A tiny mmseg segmentor for tests: MobileNetV2 x0.25 + FCN head, 3 classes, 32x32 inputs.

Test configs inherit it (``_base_``) or build ``model`` from it (see ``tiny_task`` in
``tests/conftest.py``)."""
default_scope = 'mmseg'
data_preprocessor = dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                         std=[58.395, 57.12, 57.375], bgr_to_rgb=True, size=(32, 32))
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(type='MobileNetV2', widen_factor=0.25, strides=(1, 2, 2, 1, 1, 1, 1),
                  dilations=(1, 1, 1, 2, 2, 4, 4), out_indices=(1, 2, 4, 6),
                  norm_cfg=dict(type='BN')),
    decode_head=dict(type='FCNHead', in_channels=80, channels=16, num_convs=1, num_classes=3,
                     in_index=3, norm_cfg=dict(type='BN')),
    test_cfg=dict(mode='whole'))
