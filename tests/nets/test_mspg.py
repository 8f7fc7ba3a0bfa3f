"""MSPG-SEN nets: shapes and gradients at 8, 28 and 32 pixels, 1 and 3 channels; the parts."""
import pytest
import torch

from genarena.nets.mspg import (
    DEMA,
    GCTDRN,
    AuxDiversityDiscriminator,
    MSPGDiscriminator,
    MSPGGenerator,
    SelfAttention,
    fade,
    image_pyramid,
)

SHAPES = [(1, 8), (3, 8), (1, 28), (3, 28), (1, 32), (3, 32)]


def test_dema_keeps_shape_and_passes_gradients():
    x = torch.randn(2, 8, 12, 12, requires_grad=True)
    dema = DEMA(8)
    y = dema(x)
    assert y.shape == x.shape
    y.square().sum().backward()
    assert x.grad is not None and all(p.grad is not None for p in dema.parameters())


def test_dema_is_the_identity_when_its_channel_gate_is_shut():
    dema = DEMA(8)
    with torch.no_grad():
        dema.channel_gate.weight.zero_()
        dema.channel_gate.bias.fill_(-1e4)
    x = torch.randn(2, 8, 6, 6)
    assert torch.allclose(dema(x), x)


def test_self_attention_baseline_keeps_shape():
    x = torch.randn(2, 16, 8, 8)
    assert SelfAttention(16)(x).shape == x.shape


@pytest.mark.parametrize("up, down, size", [(True, False, 16), (False, True, 4), (False, False, 8)])
def test_gctdrn_shapes_and_dynamic_residual_starting_at_zero(up, down, size):
    block = GCTDRN(8, 12, z_dim=5, upsample=up, downsample=down)
    assert block.beta.item() == 0.0
    x, z = torch.randn(2, 8, 8, 8), torch.randn(2, 5)
    y = block(x, z)
    assert y.shape == (2, 12, size, size)
    # β = 0: the block is its shortcut, but β itself receives a gradient
    y.sum().backward()
    assert block.beta.grad is not None and block.beta.grad.abs() > 0


def test_gctdrn_global_flow_makes_the_block_depend_on_z():
    block = GCTDRN(4, 4, z_dim=3)
    with torch.no_grad():
        block.beta.fill_(1.0)
    x = torch.randn(1, 4, 6, 6)
    assert not torch.allclose(block(x, torch.zeros(1, 3)), block(x, torch.ones(1, 3)))


def test_plain_block_is_the_ablation():
    block = GCTDRN(4, 6, z_dim=3, plain=True)
    assert not any("dema" in n or "film" in n for n, _ in block.named_parameters())
    assert block(torch.randn(2, 4, 5, 5)).shape == (2, 6, 5, 5)


@pytest.mark.parametrize("c, h", SHAPES)
def test_generator_and_discriminator_shapes_and_gradients(c, h):
    g, d = MSPGGenerator(16, (c, h, h), 8), MSPGDiscriminator((c, h, h), 8)
    pyr = g.pyramid(torch.randn(4, 16))
    assert pyr[-1].shape == (4, c, h, h) and len(pyr) == g.levels == d.levels
    assert [p.shape[-1] for p in pyr] == [h // 2 ** (len(pyr) - 1 - i) for i in range(len(pyr))]
    assert pyr[-1].abs().max() <= 1
    out = d(pyr)
    assert out.shape == (4, 1) and d(pyr[-1]).shape == (4, 1)
    out.sum().backward()
    assert all(p.grad is not None for p in g.parameters())
    assert all(p.grad is not None for p in d.parameters())


@pytest.mark.parametrize("dema, gctdrn, multiscale", [(False, True, True), (True, False, True),
                                                      (True, True, False)])
def test_every_part_switches_off(dema, gctdrn, multiscale):
    g = MSPGGenerator(8, (1, 28, 28), 8, dema=dema, gctdrn=gctdrn)
    d = MSPGDiscriminator((1, 28, 28), 8, dema=dema, gctdrn=gctdrn, multiscale=multiscale)
    has_dema = any(isinstance(m, DEMA) for m in g.modules())
    assert has_dema == (dema and gctdrn)
    assert d(g.pyramid(torch.randn(2, 8))).shape == (2, 1)


def test_fade_starts_from_the_lowest_scale_and_ends_with_the_images():
    imgs = [torch.full((1, 1, 2, 2), 1.0), torch.full((1, 1, 4, 4), 5.0)]
    assert torch.equal(fade(imgs, 0.0)[-1], torch.full((1, 1, 4, 4), 1.0))
    assert torch.equal(fade(imgs, 1.0)[-1], imgs[-1])
    assert torch.allclose(fade(imgs, 0.5)[-1], torch.full((1, 1, 4, 4), 3.0))


def test_progress_is_a_buffer_of_the_generator():
    g = MSPGGenerator(8, (1, 8, 8), 8)
    g.set_progress(0.25)
    assert float(g.state_dict()["progress"]) == 0.25


def test_image_pyramid_averages_down():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    pyr = image_pyramid(x, 3)
    assert [p.shape[-1] for p in pyr] == [1, 2, 4] and float(pyr[0]) == x.mean()


def test_aux_discriminator_reads_packs():
    aux = AuxDiversityDiscriminator(10, pack=4)
    assert aux(torch.randn(16, 10)).shape == (4, 1)
    assert aux(torch.randn(8, 10, 3, 3)).shape == (2, 1)
