# The official colour DnCNN for sigma = 25 on CBSD68 (published: 33.90 / 31.24 / 27.95 dB at
# sigma 15 / 25 / 50). Checkpoint: python tools/convert_matlab_weights.py
#   data/weights/CDnCNN_color_sigma25.mat work_dirs/weights/cdncnn_color_sigma25.pth --arch dncnn --prefix denoiser.
_base_ = ['../../_base_/models/cdncnn_color.py', '../../_base_/evaluation/cbsd68.py',
          '../../_base_/default_runtime.py']
model = dict(test_noise=dict(sigma=25))
