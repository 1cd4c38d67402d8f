# The official colour DnCNN for sigma = 25 on Kodak24 (500x500 crops; published 32.14 dB).
_base_ = ['../../_base_/models/cdncnn_color.py', '../../_base_/evaluation/kodak24.py',
          '../../_base_/default_runtime.py']
model = dict(test_noise=dict(sigma=25))
