"""LatentGenerator: the same samples whatever sub-batches the net runs in."""
import torch

from genarena.nets.dcgan import DCGANGenerator
from genarena.train.generative import CPU_SUB_BATCH, LatentGenerator
from genarena.train.noise import sample_latent


def test_sub_batches_draw_the_samples_of_one_batch_in_eval_mode():
    torch.manual_seed(0)
    net = DCGANGenerator(8, (1, 8, 8), width=8)          # BatchNorm: eval mode is per-sample
    gen = LatentGenerator(net, 8, "normal", torch.device("cpu"))
    n = 2 * CPU_SUB_BATCH + 5                             # a ragged last sub-batch
    x = gen.generate(n, torch.Generator().manual_seed(3))
    assert net.training                                   # its mode is given back
    net.eval()
    with torch.no_grad():
        z = sample_latent(n, 8, "normal", torch.Generator().manual_seed(3), torch.device("cpu"))
        whole = net(z)
    assert x.shape == (n, 1, 8, 8)
    torch.testing.assert_close(x, whole, atol=1e-5, rtol=1e-5)
