"""Binary activation: sign with a straight-through estimator (BinaryNet).

Forward: ``+1 if x >= 0 else -1`` (so sign(0) = +1, which the exported
thresholds rely on: bit 1 iff the pre-activation is >= 0).
Backward: the "hard tanh" STE, ``dL/dx = dL/dy * (|x| <= 1)``, or (``ste="approx"``)
Bi-Real Net's ApproxSign, ``dL/dx = dL/dy * max(0, 2 - 2|x|)``, the derivative of a
piecewise quadratic approximation of sign. The forward value is the same for both.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..errors import InputError

__all__ = ["SignSTE", "ApproxSignSTE", "sign_ste", "BinarySign", "STES"]


_STE_HI = float(torch.nextafter(torch.tensor(1.0), torch.tensor(2.0)))
_STE_LO = -_STE_HI


class SignSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        return (x >= 0).to(x.dtype).mul_(2).sub_(1)  # +1 / -1, as where(x >= 0, 1, -1) but faster

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        (x,) = ctx.saved_tensors
        # aten's fused hardtanh backward zeroes the gradient where x <= lo or x >= hi;
        # bounds one float32 step outside +-1 keep x = +-1 inside, as |x| <= 1 does.
        return torch.ops.aten.hardtanh_backward(grad_out, x, _STE_LO, _STE_HI)


class ApproxSignSTE(SignSTE):
    """:class:`SignSTE`'s forward; backward ``dL/dy * max(0, 2 - 2|x|)`` (ApproxSign)."""

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        (x,) = ctx.saved_tensors
        return grad_out * (2 - 2 * x.abs()).clamp_(min=0)


#: The straight-through estimators :class:`BinarySign` offers, by name.
STES = {"hardtanh": SignSTE, "approx": ApproxSignSTE}


def sign_ste(x: Tensor, ste: str = "hardtanh") -> Tensor:
    """``+1``/``-1`` with sign(0) = +1; the gradient of ``STES[ste]``."""
    return STES[ste].apply(x)


class BinarySign(nn.Module):
    """Module form of :func:`sign_ste`; ``ste`` a key of :data:`STES` (else
    :class:`~sw.errors.InputError` naming ``sign_ste``)."""

    def __init__(self, ste: str = "hardtanh"):
        super().__init__()
        if ste not in STES:
            raise InputError(f"sign_ste: expected one of {sorted(STES)}, got {ste!r}")
        self.ste = ste

    def forward(self, x: Tensor) -> Tensor:
        return sign_ste(x, self.ste)
