# Denoiser training on BSD400 (400 clean colour images, "CBSD400"), validation on CBSD68.
# Images load as uint8 BGR; the model's PixelPreprocessor turns them into RGB in [0, 1].
# `data/denoise` holds BSD400/, CBSD68/, Kodak24/ (tools/setup.sh links ../shared there).
data_root = 'data/denoise'
patch_size = 64
meta_keys = ('img_path', 'img_id', 'ori_shape', 'img_shape')
# Training decodes each image once: CleanImageFolder(cache_images=True) keeps BSD400 decoded in
# memory (185 MB, shared copy-on-write with the forked workers) and LoadImageFromCache takes a
# read-only view of it (copy=False: the crop is a view, RandomRot90 copies the patch).
# benchmarks/loader.py measures it against LoadImageFromFile (decode per patch; docs/benchmarks.md).
train_pipeline = [
    dict(type='LoadImageFromCache', copy=False),
    dict(type='mmpretrain.RandomCrop', crop_size=patch_size, pad_if_needed=True,
         padding_mode='reflect'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomRot90'),  # with the flip: all 8 rotations/reflections
    dict(type='mmpretrain.PackInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmpretrain.PackInputs', meta_keys=meta_keys),
]
train_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    # one (N, 3, 64, 64) uint8 tensor per batch instead of mmengine's default list of N: a
    # worker hands the main process one shared-memory tensor, not N (2x patches/s with 1 or 4
    # workers, benchmarks/loader.py); PixelPreprocessor takes either. A pipeline that keeps
    # whole images of different sizes needs collate_fn=dict(type='pseudo_collate')
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='CleanImageFolder', data_root=data_root,
                 data_prefix=dict(img_path='BSD400'), pipeline=train_pipeline,
                 cache_images=True))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CleanImageFolder', data_root=data_root,
                 data_prefix=dict(img_path='CBSD68'), pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader
# the literature protocol: RGB, 0-255, prediction rounded to uint8, whole image, mean over images
val_evaluator = [dict(type='PSNR'), dict(type='SSIM')]
test_evaluator = val_evaluator
