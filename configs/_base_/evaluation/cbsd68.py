# Test on CBSD68: whole images, seeded Gaussian noise per image (the same noisy image for every
# method), PSNR/SSIM on RGB 0-255 with the prediction rounded to uint8, averaged over images.
data_root = 'data/denoise'
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CleanImageFolder', data_root=data_root, data_prefix=dict(img_path='CBSD68'),
                 test_mode=True,
                 pipeline=[dict(type='LoadImageFromFile'),
                           dict(type='mmpretrain.PackInputs',
                                meta_keys=('img_path', 'img_id', 'ori_shape', 'img_shape'))]))
test_evaluator = [dict(type='mmsemdenoise.PSNR'), dict(type='mmsemdenoise.SSIM')]
test_cfg = dict(type='TestLoop')
