"""The contract between a :class:`~sw.quant.TernaryLayer` and its weight quantiser.

Every registered method trains through one :class:`LayerQuantizer`, an
``nn.Module`` that :meth:`TernaryLayer.set_quantizer` attaches to the layer as
``layer.quantizer``: paper 002's ``threshold`` method
(:class:`~sw.quant.threshold.ThresholdQuantizer`) as much as the others
(:mod:`sw.quant.adapters`). Learned scales are ``nn.Parameter`` s and other
state (fixed thresholds, round counters, frozen masks) buffers, so the
optimiser trains the scales (``model.parameters()`` includes them) and
checkpoints restore everything; a quantiser without state adds nothing to the
layer's ``state_dict``.

A quantiser answers, for the layer's real weights ``w``:

* :meth:`~LayerQuantizer.values` -- the forward-pass weights, differentiable
  (the registered straight-through twin, fed the quantiser's learned scales);
* :meth:`~LayerQuantizer.codes` / :meth:`~LayerQuantizer.scales` -- the
  ternary codes in {-1, 0, +1} and the magnitudes ``(W_p, W_n)`` per scale
  group (one per layer or one per filter), so that ``values == +W_p / 0 / -W_n``
  by code; this is what gets exported. ``scales`` is ``None`` for an unscaled
  method (``threshold``: the values are the codes);
* :meth:`~LayerQuantizer.is_ternary` -- false while the layer still trains in
  full precision (prox before its first step, incremental before its last round);
* hooks the training loop calls through the layer: :meth:`regularizer` (added
  to the loss), :meth:`after_step` (after each optimiser step and the layer's
  clip to [-1, 1]), :meth:`prune` (at each pipeline stage transition: paper
  002's pruning for ``threshold``, :meth:`next_stage` for the others),
  :meth:`l2_codes` (the codes paper 002's eq. 5 pulls towards zero when the
  layer's ``lam > 0``);
* :meth:`report` -- its state for the training report.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..errors import InputError

__all__ = ["LayerQuantizer"]


class LayerQuantizer(nn.Module):
    """One registered method's training behaviour for one layer (see the module docstring).

    Subclasses set :attr:`PARAMS` (the keyword parameters they accept) and
    implement :meth:`values`, :meth:`codes` and :meth:`scales`. A subclass with
    :attr:`USES_LAYER_ETA` is constructed with the layer's ``eta`` as keyword
    ``eta`` (not one of its parameters); :attr:`PARAMS_NOTE` is added to the
    message that lists the accepted parameters.
    """

    PARAMS: tuple[str, ...] = ()
    PARAMS_NOTE: str = ""
    USES_LAYER_ETA: bool = False
    name: str

    def values(self, w: Tensor) -> Tensor:
        """Forward-pass weights (before the layer's pruning mask), differentiable."""
        raise NotImplementedError

    def codes(self, w: Tensor) -> Tensor:
        """Codes in {-1, 0, +1}: ``w``'s shape and dtype, no gradient."""
        raise NotImplementedError

    def scales(self, w: Tensor) -> tuple[Tensor, Tensor] | None:
        """``(W_p, W_n)``: magnitudes of the ``+1`` / ``-1`` codes, shape ``(G,)``, detached;
        ``None`` when the values are the codes themselves."""
        raise NotImplementedError

    def is_ternary(self) -> bool:
        """Whether :meth:`values` equals the codes times the scales (else still full precision)."""
        return True

    def regularizer(self, w: Tensor) -> Tensor | None:
        """A term to add to the loss, or ``None``."""
        return None

    def l2_codes(self, w: Tensor) -> Tensor | None:
        """What paper 002's eq. (5) multiplies by ``lam`` (``None``: no L2 for this method)."""
        return self.codes(w)

    @torch.no_grad()
    def after_step(self, w: Tensor) -> None:
        """After each optimiser step (and the layer's clip and mask); may update ``w`` in place."""

    @torch.no_grad()
    def next_stage(self, w: Tensor) -> None:
        """Stage transition of a method that does not prune; may update ``w`` in place."""

    @torch.no_grad()
    def prune(self, w: Tensor, mask: Tensor, sigma: float | None = None) -> int:
        """Stage transition (where paper 002 prunes); may update ``w`` and ``mask`` in place.

        Returns how many nonzero codes it pruned. This default prunes nothing:
        ``sigma`` must be ``None``; it runs :meth:`next_stage` and returns 0.
        """
        if sigma is not None:
            raise InputError(f"sigma: pruning belongs to the threshold quantiser, not {self.name} "
                             f"(got {sigma})")
        self.next_stage(w)
        return 0

    def info(self) -> dict:
        """JSON-friendly state beyond the method's name."""
        return {}

    def report(self) -> dict:
        """What the training report records per layer: the method and :meth:`info`."""
        return {"method": self.name, **self.info()}

    def extra_repr(self) -> str:
        return self.name
