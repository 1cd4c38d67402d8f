"""A tiny mmpretrain classifier for tests: MobileNetV2 x0.25, 5 classes.

As in mmpretrain's configs, the data preprocessor sits at the top level, without a type."""
default_scope = 'mmpretrain'
data_preprocessor = dict(num_classes=5, mean=[123.675, 116.28, 103.53],
                         std=[58.395, 57.12, 57.375], to_rgb=True)
model = dict(type='ImageClassifier', backbone=dict(type='MobileNetV2', widen_factor=0.25),
             neck=dict(type='GlobalAveragePooling'),
             head=dict(type='LinearClsHead', num_classes=5, in_channels=1280))
