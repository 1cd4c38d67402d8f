"""Networks and pieces of the data flow: noise -> denoiser -> (task model) -> losses."""
from . import cascade, denoisers, losses, noise  # noqa: F401 (registers modules)
