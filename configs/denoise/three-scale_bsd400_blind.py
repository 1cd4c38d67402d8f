# Stage 1, full protocol (GPU), blind: each training image draws its sigma from U[0, 75]
# (FFDNet's range); validation at sigma = 25. The CPU counterpart: ./three-scale_bsd400_blind_cpu-2h.py
_base_ = './three-scale_bsd400_sigma25.py'
model = dict(noise=dict(sigma=(0, 75)), test_noise=dict(type='GaussianNoise', sigma=25))
