"""Recognition backbones not provided upstream, usable inside mmpretrain/mmseg model configs."""
from .efficientnet_lite import EfficientNetLite

__all__ = ['EfficientNetLite']
