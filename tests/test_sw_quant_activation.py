"""sw.quant.activation: the binary sign activation and its hardtanh straight-through gradient."""

import torch

from sw.quant import BinarySign, sign_ste


def test_sign_ste_forward_and_hardtanh_gradient():
    x = torch.tensor([-2.0, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 2.0], requires_grad=True)
    y = sign_ste(x)
    assert y.tolist() == [-1, -1, -1, 1, 1, 1, 1, 1]  # sign(0) = +1 (also -0.0: -0.0 >= 0)
    y.sum().backward()
    assert x.grad.tolist() == [0, 1, 1, 1, 1, 1, 1, 0]
    assert torch.equal(BinarySign()(x.detach()), y.detach())


def test_sign_ste_gradient_boundary_is_exactly_one_in_float32():
    one_up = torch.nextafter(torch.tensor(1.0), torch.tensor(2.0)).item()
    one_down = torch.nextafter(torch.tensor(1.0), torch.tensor(0.0)).item()
    x = torch.tensor([-one_up, -1.0, -one_down, one_down, 1.0, one_up], requires_grad=True)
    sign_ste(x).backward(torch.full_like(x, 3.0))
    assert x.grad.tolist() == [0, 3, 3, 3, 3, 0]


def test_approx_sign_gradient_and_same_forward():
    """ApproxSign (Bi-Real Net): gradient max(0, 2 - 2|x|), forward as the hardtanh STE's."""
    x = torch.tensor([-2.0, -1.0, -0.75, -0.25, 0.0, 0.5, 1.0, 1.5], requires_grad=True)
    y = sign_ste(x, "approx")
    assert torch.equal(y, sign_ste(x.detach()))
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.5, 1.5, 2.0, 1.0, 0.0, 0.0]
    assert torch.equal(BinarySign("approx")(x.detach()), y.detach())


def test_unknown_ste_is_refused():
    import pytest
    from sw.errors import InputError
    with pytest.raises(InputError, match=r"^sign_ste: expected one of \['approx', 'hardtanh'\], got 'relu'$"):
        BinarySign("relu")
