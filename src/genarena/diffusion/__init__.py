"""Score-based diffusion (docs/diffusion.md): SDEs, DSM training, samplers, classifier guidance with DLSM."""
