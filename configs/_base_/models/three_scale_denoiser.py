# The paper's 3-scale encoder-decoder denoiser trained alone (stage 1): Gaussian sigma 25, MSE.
# The test noise is the training noise, seeded per image.
model = dict(
    type='DenoisingCascade',
    data_preprocessor=dict(type='PixelPreprocessor', bgr_to_rgb=True),
    denoiser=dict(type='ThreeScaleDenoiser'),
    noise=dict(type='GaussianNoise', sigma=25),  # 0-255 scale
    loss=dict(type='JointLoss', rec_loss=dict(type='MSELoss')))
