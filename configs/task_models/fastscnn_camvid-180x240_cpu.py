# Fast-SCNN (1.4 M parameters) trained on CamVid at half resolution on a CPU: the frozen
# segmentation model of the CPU-scale experiments, and the foundation's end-to-end check that the
# stack (torch + compiled mmcv + mmseg) trains. Upstream model config, unmodified but for the
# number of classes, plain BN (no SyncBN on one CPU process) and softmax cross-entropy.
_base_ = [
    'mmseg::_base_/models/fast_scnn.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/datasets/camvid.py',
]
default_scope = 'mmsemdenoise'

crop_size = (180, 240)
num_classes = 11
norm_cfg = dict(type='BN', requires_grad=True, momentum=0.01)
loss = dict(type='CrossEntropyLoss', use_sigmoid=False)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(norm_cfg=norm_cfg),
    decode_head=dict(num_classes=num_classes, norm_cfg=norm_cfg,
                     loss_decode=dict(loss, loss_weight=1.0)),
    # lists replace (not merge with) the base's, so the auxiliary heads are written in full
    auxiliary_head=[
        dict(type='FCNHead', in_channels=128, channels=32, num_convs=1, num_classes=num_classes,
             in_index=-2, norm_cfg=norm_cfg, concat_input=False, align_corners=False,
             loss_decode=dict(loss, loss_weight=0.4)),
        dict(type='FCNHead', in_channels=64, channels=32, num_convs=1, num_classes=num_classes,
             in_index=-3, norm_cfg=norm_cfg, concat_input=False, align_corners=False,
             loss_decode=dict(loss, loss_weight=0.4)),
    ])

# half resolution: 240x180 images, random scale 0.5-2, crops of 180x240
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmseg.LoadAnnotations'),
    dict(type='RandomResize', scale=(240, 180), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='mmseg.RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='mmseg.PhotoMetricDistortion'),
    dict(type='mmseg.PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(240, 180), keep_ratio=True),
    dict(type='mmseg.LoadAnnotations'),
    dict(type='mmseg.PackSegInputs'),
]
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(type='FiniteCheckOptimWrapper',  # stops on a NaN/Inf loss, before the step
                     optimizer=dict(type='SGD', lr=0.12, momentum=0.9, weight_decay=4e-5))
max_iters = 4000
param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=max_iters,
                        by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=1000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1000, max_keep_ckpts=2,
                    backend_args=dict(backend='atomic_local')),  # written whole, then renamed
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='mmseg.SegVisualizationHook'))
randomness = dict(seed=0)
# val/test metrics get `skipped_files`; exact resume (mmseg's runtime base has no custom_hooks)
custom_hooks = [dict(type='SkippedFilesHook'), dict(type='mmsemdenoise.RandomStateHook')]
