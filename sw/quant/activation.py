"""Binary activation: sign with a straight-through estimator (BinaryNet).

Forward: ``+1 if x >= 0 else -1`` (so sign(0) = +1, which the exported
thresholds rely on: bit 1 iff the pre-activation is >= 0).
Backward: the "hard tanh" STE, ``dL/dx = dL/dy * (|x| <= 1)``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["SignSTE", "sign_ste", "BinarySign"]


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


def sign_ste(x: Tensor) -> Tensor:
    """``+1``/``-1`` with sign(0) = +1; straight-through gradient where |x| <= 1."""
    return SignSTE.apply(x)


class BinarySign(nn.Module):
    """Module form of :func:`sign_ste`."""

    def forward(self, x: Tensor) -> Tensor:
        return sign_ste(x)
