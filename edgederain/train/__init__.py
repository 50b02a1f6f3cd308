"""Training side (PyTorch): datasets, synthetic rain, losses, the two-stage loop, checkpoints."""
