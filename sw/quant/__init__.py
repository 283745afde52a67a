"""Weight quantisers for ternary networks, looked up by name.

Three layers, as in Brevitas:

* a pure function ``w_r -> w_q`` (no autograd), e.g. :func:`ternarize_threshold`;
* a straight-through autograd function that applies it in the forward pass
  and hands the gradient unchanged to the real-valued weights;
* ``nn.Module`` layers (:class:`TernaryLinear`, :class:`TernaryConv2d`) that own
  ``w_r``, a pruning mask and the per-layer hyperparameters ``eta`` and ``lam``.

Methods register by name in :data:`QUANTIZERS`; ``ternarize(w, method="threshold",
eta=0.9)`` is the generic entry point. Only paper 002's ``"threshold"`` method
exists so far; TWN, TTQ, proximal methods, ... can register beside it.
"""

from .activation import BinarySign, sign_ste
from .layers import TernaryConv2d, TernaryLinear, TernaryLayer, ternary_layers
from .registry import QUANTIZERS, QuantMethod, register, ternarize, ternarize_ste
from .threshold import ternarize_threshold

__all__ = [
    "QUANTIZERS",
    "QuantMethod",
    "register",
    "ternarize",
    "ternarize_ste",
    "ternarize_threshold",
    "TernaryLayer",
    "TernaryLinear",
    "TernaryConv2d",
    "ternary_layers",
    "BinarySign",
    "sign_ste",
]
