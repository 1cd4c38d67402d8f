# The official blind colour DnCNN (CDnCNN-B, trained for sigma in [0, 55]) on CBSD68 at sigma 25
# (ours: 33.88 / 31.23 / 27.92 dB at sigma 15 / 25 / 50; DnCNN paper: 33.89 / 31.23 / 27.92);
# other levels with --cfg-options model.test_noise.sigma=S. Checkpoint:
#   python tools/convert_matlab_weights.py data/weights/CDnCNN_B_color_blind.mat
#   checkpoints/cdncnn-b_3rdparty_cbsd432.pth --arch dncnn --prefix denoiser.
# In Python: mmsemdenoise.apis.get_model('cdncnn-b_3rdparty_cbsd432') converts it in memory.
_base_ = ['../../_base_/models/cdncnn_color.py', '../../_base_/evaluation/cbsd68.py',
          '../../_base_/default_runtime.py']
model = dict(test_noise=dict(sigma=25))
