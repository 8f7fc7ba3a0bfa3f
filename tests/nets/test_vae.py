"""The VAE: encoder statistics, decoding from z, for vectors and images."""
import torch

from genarena.nets.vae import VAE


def test_image_vae_shapes():
    vae = VAE((1, 28, 28), z_dim=8, g_hidden=[16], d_hidden=[16], out_act="tanh", width=8)
    mu, logvar = vae.encode(torch.randn(5, 1, 28, 28))
    assert mu.shape == logvar.shape == (5, 8)
    assert vae(mu).shape == (5, 1, 28, 28)


def test_vector_vae_gradients_are_the_numerical_ones_and_reach_every_parameter():
    vae = VAE((2,), z_dim=2, g_hidden=[16, 16], d_hidden=[16]).double()
    x = torch.randn(7, 2, dtype=torch.float64, requires_grad=True)

    def through(inp):
        mu, logvar = vae.encode(inp)
        return vae(mu).sum() + logvar.sum()
    assert torch.autograd.gradcheck(through, (x,))           # analytic = finite differences
    through(x).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in vae.parameters())
