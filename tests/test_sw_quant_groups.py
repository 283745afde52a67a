"""sw.quant.groups: scale groups, scale arguments and the two-scale autograd function."""

import pytest
import torch

from sw.errors import InputError
from sw.quant.groups import codes_to_values, groups, scale_tensor, two_scale


def test_groups_are_the_tensor_or_its_filters():
    w = torch.arange(24.0).reshape(4, 3, 2)
    assert groups(w, False).shape == (1, 24) and groups(w, True).shape == (4, 6)
    assert groups(torch.tensor(1.0), False).shape == (1, 1)
    with pytest.raises(InputError) as err:
        groups(torch.tensor(1.0), True)
    assert str(err.value) == "per_filter: needs a weight with at least one dimension (filters on dim 0)"


def test_scales_are_numbers_or_one_per_group():
    like = torch.zeros(1, dtype=torch.float64)
    assert scale_tensor(0.5, "wp", 3, like).tolist() == [0.5] * 3
    assert scale_tensor(torch.tensor([2.0]), "wp", 3, like).tolist() == [2.0] * 3
    for scale, message in [(torch.ones(2), "wp: expected 1 or 3 elements (one per scale group), got shape (2,)"),
                           (-1.0, "wp: expected a scale >= 0, got -1.0")]:
        with pytest.raises(InputError) as err:
            scale_tensor(scale, "wp", 3, like)
        assert str(err.value) == message


def test_two_scale_values_and_gradients():
    codes = torch.tensor([[1.0, 0.0, -1.0, 1.0]])
    w = torch.tensor([[0.5, 0.1, -0.4, 0.9]], requires_grad=True)
    wp = torch.tensor([2.0], requires_grad=True)
    wn = torch.tensor([0.5], requires_grad=True)
    y = two_scale(w, wp, wn, codes, ttq_latent=False)
    assert torch.equal(y.detach(), codes_to_values(codes, wp.detach(), wn.detach()))
    assert y.tolist() == [[2.0, 0.0, -0.5, 2.0]]
    y.backward(torch.tensor([[1.0, 2.0, 3.0, 4.0]]))
    assert w.grad.tolist() == [[1.0, 2.0, 3.0, 4.0]]           # identity to the latent weights
    assert wp.grad.tolist() == [5.0] and wn.grad.tolist() == [-3.0]
