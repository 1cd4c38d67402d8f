# Short name for configs/cascade/deeplab_denoise_voc.py (inherit that one: mmengine's
# `mmsemdenoise::` prefix needs a folder in the path).
_base_ = ['./cascade/deeplab_denoise_voc.py']
