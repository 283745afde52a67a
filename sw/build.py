"""The network a :class:`~sw.configs.Config` describes, with its quantiser attached."""

from __future__ import annotations

from torch import nn

from .configs import Config
from .data import Dataset
from .errors import InputError
from .models import BinaryMLP, FloatMLP, VGGSmall
from .quant import ternary_layers

__all__ = ["build_model"]


def build_model(cfg: Config, ds: Dataset, weights: str = "ternary", eta: float | None = None,
                lam: float | None = None, quantizer: str | None = None) -> nn.Module:
    """The config's network; ``eta``/``lam`` override every layer's value (baselines, sweeps).

    The ternary layers use ``cfg.quantizer`` with ``cfg.quantizer_params``
    (``quantizer="threshold"`` overrides that: the baselines). A binary MLP's
    output layer gets ``per_filter=False``: its exported outputs are raw
    accumulations compared by argmax, so all its rows must share one scale.
    Raises :class:`~sw.errors.InputError` for a config no network matches.
    """
    model = _build_network(cfg, ds, weights, eta, lam)
    method = cfg.quantizer if quantizer is None else quantizer
    params = cfg.quantizer_kwargs if quantizer is None else {}
    if method != "threshold" or params:
        layers = list(ternary_layers(model))
        for k, layer in enumerate(layers):
            p = dict(params)
            if isinstance(model, BinaryMLP) and k == len(layers) - 1 and "per_filter" in p:
                p["per_filter"] = False
            layer.set_quantizer(method, **p)
    return model


def _build_network(cfg: Config, ds: Dataset, weights: str, eta: float | None,
                   lam: float | None) -> nn.Module:
    eta_fc = cfg.eta if eta is None else eta
    lam_fc = cfg.lam if lam is None else lam
    if cfg.arch == "mlp":
        if cfg.activation not in ("binary", "float"):
            raise InputError(f"activation: expected 'binary' or 'float', got {cfg.activation!r}")
        cls = BinaryMLP if cfg.activation == "binary" else FloatMLP
        kw = ({"sign_ste": cfg.sign_ste} if cfg.activation == "binary"
              else {"x_scale": cfg.x_scale, "x_offset": cfg.x_offset})
        return cls(ds.n_features, cfg.hidden, ds.n_classes, weights=weights, etas=eta_fc,
                   lams=lam_fc, dropout=cfg.dropout, **kw)
    if cfg.arch == "cnn":
        n_conv = sum(1 for f in cfg.features if f != "M")
        eta_conv = eta if eta is not None else (cfg.eta_conv if cfg.eta_conv is not None else cfg.eta)
        lam_conv = lam if lam is not None else (cfg.lam_conv if cfg.lam_conv is not None else cfg.lam)
        eta_out = eta if eta is not None else (cfg.eta_out if cfg.eta_out is not None else cfg.eta)
        lam_out = lam if lam is not None else (cfg.lam_out if cfg.lam_out is not None else cfg.lam)
        return VGGSmall(ds.image_shape, ds.n_classes, features=cfg.features, fc=cfg.fc,
                        activation=cfg.activation, weights=weights,
                        etas=[eta_conv] * n_conv + [eta_fc, eta_out],
                        lams=[lam_conv] * n_conv + [lam_fc, lam_out],
                        x_scale=cfg.x_scale, x_offset=cfg.x_offset, sign_ste=cfg.sign_ste)
    raise InputError(f"arch: expected 'mlp' or 'cnn', got {cfg.arch!r}")
