"""Augmenters for pre-finetuning: back-translation (MarianMT, Apertium) and EDA, with a cache."""
