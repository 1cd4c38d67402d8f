# The official colour FFDNet on CBSD68 at sigma = 25 (published 31.21 dB); other levels with
# --cfg-options model.test_noise.sigma=15 (33.87) or 50 (27.96). Checkpoint:
#   python tools/convert_matlab_weights.py data/weights/FFDNet_color.mat
#   work_dirs/weights/ffdnet_color.pth --arch ffdnet --prefix denoiser.
_base_ = ['../../_base_/models/ffdnet_color.py', '../../_base_/evaluation/cbsd68.py',
          '../../_base_/default_runtime.py']
