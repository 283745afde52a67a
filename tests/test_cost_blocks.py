"""The block catalogue (cost/blocks.py): names, sizes and the model it describes."""

import re

import pytest
from amaranth.back import rtlil

from cost import gamma, names
from cost.blocks import FixedModePE, standard_blocks
from sw.errors import InputError
from sw.model_file import load_model

SMALL = "sw/pretrained/fmnist-mlp-binary-small.npz"


def test_standard_blocks_of_the_small_model():
    blocks, info = standard_blocks(SMALL, (1, 8), float_model_path=None)
    assert [b.name for b in blocks] == [*names.REQUIRED[:5], names.PE_WEIGHTED,
                                        *names.REQUIRED[5:], "engine_r1", "engine_r8"]
    assert [b.reuse for b in blocks if b.reuse] == [1, 8]
    assert not any(b.float_reuse for b in blocks)
    weights = load_model(SMALL).weights
    assert info.path == SMALL and info.gamma == gamma.overall(gamma.of_weights(weights))
    assert [layer.shape for layer in info.layers] == [w.shape for w in weights]
    assert info.words > 1024 and info.n_cols == max(w.shape[1] for w in weights)


def test_fixed_mode_pe_keeps_one_datapath():
    widths = dict(acc_width=12, const_width=12, score_width=12)
    xnor = rtlil.convert(FixedModePE(1, **widths), name="pe_xnor", emit_src=False)
    int8 = rtlil.convert(FixedModePE(0, **widths), name="pe_int8", emit_src=False)
    assert xnor != int8 and "module \\pe_xnor" in xnor


def test_missing_or_garbage_model_names_the_field(tmp_path):
    missing = tmp_path / "none.npz"
    with pytest.raises(InputError, match=f"^model: cannot read {re.escape(str(missing))}: "
                                         "No such file or directory$"):
        standard_blocks(missing)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"garbage")
    with pytest.raises(InputError, match=rf"^float_model: .*{re.escape(str(bad))}.*$"):
        standard_blocks(SMALL, float_model_path=bad)
