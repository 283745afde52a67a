"""sw.configs: the named configurations and the unknown-name error."""

import pytest

from sw.configs import CONFIGS, METHODS, UnknownConfig, get_config
from sw.errors import InputError
from sw.quant import INCREMENTAL_QUANTILES, QUANTIZERS


def test_every_method_has_configs_mirroring_the_threshold_ones():
    assert set(METHODS) == set(QUANTIZERS) - {"threshold"}
    for m in METHODS:
        for base, name in (("tiny", f"tiny-{m}"), ("tiny-float", f"tiny-float-{m}"),
                           ("fmnist-mlp-binary", f"fmnist-mlp-binary-{m}"),
                           ("fmnist-mlp-float", f"fmnist-mlp-float-{m}")):
            b, c = CONFIGS[base], CONFIGS[name]
            assert c.quantizer == m and b.quantizer == "threshold" and b.quantizer_params == ()
            for field in ("dataset", "arch", "activation", "hidden", "lr", "batch_size", "val_size", "seed",
                          "total_epochs"):
                assert getattr(c, field) == getattr(b, field), (name, field)
            assert c.prune_iterations == (len(INCREMENTAL_QUANTILES) if m == "incremental" else 1)
    assert get_config("fmnist-mlp-float-twn").total_epochs == 26



def test_unknown_names_are_one_clean_line_naming_the_field():
    with pytest.raises(UnknownConfig) as err:
        get_config("no-such-net")
    assert str(err.value) == f"config: unknown 'no-such-net' (known: {', '.join(sorted(CONFIGS))})"
    assert isinstance(err.value, InputError) and isinstance(err.value, ValueError)
    assert not isinstance(err.value, KeyError) and err.value.name == "no-such-net"


def test_required_configs_exist_and_round_trip():
    for name in ("tiny", "tiny-float", "tiny-cnn", "fmnist-mlp-binary", "fmnist-mlp-float", "fmnist-cnn",
                 "fmnist-cnn-binary", "fmnist-cnn-float"):
        cfg = get_config(name)
        assert cfg.name == name and cfg.with_(seed=3).seed == 3 and cfg.to_dict()["name"] == name
    assert get_config("tiny-sq").quantizer_kwargs == {"per_filter": True}


def test_cnn_configs_fit_the_rtl_budget():
    """Issue 16: both CNN configs have a dense-binary baseline and a network whose conv work
    (dense MACs, an upper bound of nonzeros x output pixels) stays below 6 M per image
    (binary 32-M-64-M-64: 5.6 M; float 32-M-64-M: 3.8 M): a bound on what `make bench`
    simulates."""
    for name in ("fmnist-cnn-binary", "fmnist-cnn-float"):
        cfg = get_config(name)
        assert cfg.arch == "cnn" and "dense_binary" in cfg.baselines
        c, hw, macs = 1, 28, 0
        for f in cfg.features:
            if f == "M":
                hw //= 2
            else:
                macs, c = macs + f * c * 9 * hw * hw, f
        assert macs < 6_000_000
