# Stage 1, full protocol (GPU) at sigma = 50.
_base_ = './three-scale_bsd400_sigma25.py'
model = dict(noise=dict(sigma=50))
