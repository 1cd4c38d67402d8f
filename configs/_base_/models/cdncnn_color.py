# Colour DnCNN as released (cszn/DnCNN, MatConvNet): 20 conv layers of 64 channels, batch norm
# folded into the convolutions (bn=False), residual learning. Weights: tools/convert_matlab_weights.py.
model = dict(
    type='DenoisingCascade',
    data_preprocessor=dict(type='PixelPreprocessor', bgr_to_rgb=True),
    denoiser=dict(type='DnCNN', in_channels=3, channels=64, num_layers=20, bn=False),
    test_noise=dict(type='GaussianNoise', sigma=25))
