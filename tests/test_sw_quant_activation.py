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
