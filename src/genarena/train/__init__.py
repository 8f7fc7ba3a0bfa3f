"""Trainers: the loop they share (loop.py), the pair trainer and those built on it (E-GAN,
MSPG-SEN), the VAE and diffusion trainers, and the pieces of an adversarial step. The registry of
trainers by config name is genarena.trainers."""
