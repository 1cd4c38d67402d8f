"""Networks and pieces of the data flow: noise -> denoiser -> (task model) -> losses."""
from . import backbones, cascade, denoisers, losses, noise  # noqa: F401 (registers modules)
