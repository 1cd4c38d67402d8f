# Runtime shared by the configs of this package: the mmsemdenoise scope, iteration-based logs.
default_scope = 'mmsemdenoise'
env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))
vis_backends = [dict(type='LocalVisBackend')]
# no fixed name: each Runner gets its own (mmengine names it after the run), so a second Runner
# in one process does not write into the first one's vis_data
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # atomic_local: written to a temporary name and renamed, the old one removed only after
    # (mmsemdenoise/utils/atomic_files.py)
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=5000, max_keep_ckpts=3,
                    save_last=True, backend_args=dict(backend='atomic_local')),
    sampler_seed=dict(type='DistSamplerSeedHook'))
# val/test metrics get `skipped_files`: samples the datasets left out (on_bad_file='skip');
# exact resume: the random streams are saved with each checkpoint and restored on --resume;
# at each validation, noisy | denoised | clean (| prediction) of the first val images goes to the
# visualizer backends (vis_data/vis_image/val_denoise_<iter>.png); each checkpoint carries the
# denoiser's architecture (meta['model_cfg']); other models are left alone
custom_hooks = [dict(type='SkippedFilesHook'), dict(type='mmsemdenoise.RandomStateHook'),
                dict(type='mmsemdenoise.DenoiserArchitectureHook'),
                dict(type='mmsemdenoise.DenoiseVisualizationHook', num_images=4)]
