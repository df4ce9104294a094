"""Learnt styles: prepare a curated collection, train a GAN on it, sample it, inspect for novelty.

Plain arguments only (folders, numbers): nothing here reads settings or the archive. The
numpy/Pillow parts (layout, prepare, perceptual descriptors) import without torch; the
training, sampling and painting parts import torch where they are used.
"""
