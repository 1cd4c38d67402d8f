# Colour FFDNet as released (cszn/FFDNet): 12 conv layers of 96 channels on 2x2 sub-images plus a
# noise-level map, batch norm folded (bn=False). The cascade passes the test noise's sigma.
model = dict(
    type='DenoisingCascade',
    data_preprocessor=dict(type='PixelPreprocessor', bgr_to_rgb=True),
    denoiser=dict(type='FFDNet', in_channels=3, channels=96, num_layers=12, bn=False),
    test_noise=dict(type='GaussianNoise', sigma=25))
