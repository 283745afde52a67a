"""Weight quantisers for ternary networks, looked up by name.

Three layers, as in Brevitas:

* a pure function ``w_r -> w_q`` (no autograd), e.g. :func:`ternarize_threshold`;
* a straight-through autograd function that applies it in the forward pass
  and hands the gradient to the real-valued weights (and to learned scales);
* ``nn.Module`` layers (:class:`TernaryLinear`, :class:`TernaryConv2d`) that own
  ``w_r``, a pruning mask, the per-layer hyperparameters ``eta`` and ``lam``,
  and a layer quantiser (:class:`LayerQuantizer`, :mod:`sw.quant.quantizer`):
  paper 002's :class:`ThresholdQuantizer` by default, any registered method's
  through ``layer.set_quantizer(NAME, **params)`` (:mod:`sw.quant.adapters`:
  learned scales as parameters, per-step and per-stage hooks, loss terms).

Methods register by name in :data:`QUANTIZERS`; ``ternarize(w, method=NAME,
**params)`` is the generic entry point and ``ternarize_ste`` its differentiable
twin. An unknown name raises :class:`~sw.errors.InputError` listing the known
ones. Registered:

=================  ==========================================================  =====
name               values (per scale group)                                    paper
=================  ==========================================================  =====
``threshold``      {-1, 0, +1}, fixed threshold ``eta`` (eq. 1)                002
``twn``            {-a, 0, +a}, ``Delta = 0.7 mean|W|``, ``a`` = mean kept |W|  TWN
``ttq-threshold``  {-W_n, 0, +W_p}, threshold ``t`` relative to max|W|          000
``ttq-sparsity``   {-W_n, 0, +W_p}, a fraction ``sparsity`` of zeros            000
``prox-single``    {-a, 0, +a}, the exact minimiser of ||a T - W||^2            003
``prox-dual``      {-a_n, 0, +a_p}, exact, positive / negative parts apart      003
``sq``             {-mu, +mu} or {-mu, 0, +mu} depending on ``beta``            001
``incremental``    filter-wise {-W_n, 0, +W_p} on a growing mask                004
=================  ==========================================================  =====

Every method except ``threshold`` returns its values with the scales applied
(methods with learned scales use their initial scales unless ``wp``/``wn``/``mu``
are passed). ``per_filter=True`` (where offered) gives one scale group per slice
along dim 0 instead of one per tensor. Each module's docstring states its
contract, gradient and the choices made where the paper leaves them open.
"""

from .activation import STES, BinarySign, sign_ste
from .adapters import ADAPTERS, make_layer_quantizer
from .layers import TernaryConv2d, TernaryLinear, TernaryLayer, ternary_layers
from .quantizer import LayerQuantizer
from .registry import QUANTIZERS, QuantMethod, register, ternarize, ternarize_ste
from .threshold import ThresholdQuantizer, ternarize_threshold
from .twn import TWN_FACTOR, ternarize_twn, ternarize_twn_ste, twn_params
from .ttq import (TTQ_SPARSITY, TTQ_THRESHOLD, TTQQuantizer, ternarize_ttq, ternarize_ttq_sparsity,
                  ternarize_ttq_sparsity_ste, ternarize_ttq_ste, ttq_codes, ttq_initial_scales)
from .prox import (prox_dual, prox_gradient_step, prox_single, ternarize_prox, ternarize_prox_dual,
                   ternarize_prox_dual_ste, ternarize_prox_ste)
from .sq import (SQ_DELTA, SQ_THRESHOLD_FACTOR, binary_regularizer, sq_codes, sq_is_binary,
                 sq_regularizer, sq_regularizer_elementwise, ternarize_sq, ternarize_sq_ste,
                 ternary_regularizer)
from .incremental import (INCREMENTAL_QUANTILES, incremental_codes, incremental_mask,
                          ternarize_incremental, ternarize_incremental_ste)

__all__ = [
    "QUANTIZERS",
    "QuantMethod",
    "register",
    "ternarize",
    "ternarize_ste",
    "ternarize_threshold",
    "ThresholdQuantizer",
    "TernaryLayer",
    "TernaryLinear",
    "TernaryConv2d",
    "ternary_layers",
    "ADAPTERS",
    "LayerQuantizer",
    "make_layer_quantizer",
    "BinarySign", "STES",
    "sign_ste",
    # TWN
    "TWN_FACTOR",
    "twn_params",
    "ternarize_twn",
    "ternarize_twn_ste",
    # TTQ (paper 000)
    "TTQ_THRESHOLD",
    "TTQ_SPARSITY",
    "ttq_codes",
    "ttq_initial_scales",
    "ternarize_ttq",
    "ternarize_ttq_ste",
    "ternarize_ttq_sparsity",
    "ternarize_ttq_sparsity_ste",
    "TTQQuantizer",
    # exact proximal operator (paper 003)
    "prox_single",
    "prox_dual",
    "ternarize_prox",
    "ternarize_prox_ste",
    "ternarize_prox_dual",
    "ternarize_prox_dual_ste",
    "prox_gradient_step",
    # Smart Quantization (paper 001)
    "SQ_DELTA",
    "SQ_THRESHOLD_FACTOR",
    "sq_regularizer_elementwise",
    "sq_regularizer",
    "binary_regularizer",
    "ternary_regularizer",
    "sq_is_binary",
    "sq_codes",
    "ternarize_sq",
    "ternarize_sq_ste",
    # incremental filter-wise TTQ (paper 004)
    "INCREMENTAL_QUANTILES",
    "incremental_mask",
    "incremental_codes",
    "ternarize_incremental",
    "ternarize_incremental_ste",
]
