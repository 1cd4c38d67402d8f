# Stage 1, full protocol (GPU), blind: each training image draws its sigma from U[0, 55]
# (as DnCNN-B); validation at sigma = 25.
_base_ = './three-scale_bsd400_sigma25.py'
model = dict(noise=dict(sigma=(0, 55)), test_noise=dict(type='GaussianNoise', sigma=25))
