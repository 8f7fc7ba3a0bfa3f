"""Score-based diffusion (SPEC 6): SDEs, DSM training, samplers, classifier guidance with DLSM."""
