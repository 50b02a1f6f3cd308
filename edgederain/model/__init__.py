"""The networks (PyTorch): DerainNet, its rain autoencoder, RLCN and the building blocks."""

from edgederain.model.autoencoder import RainAutoencoder, transfer_decoder
from edgederain.model.config import PRESETS, ModelConfig, get_preset
from edgederain.model.mspam import MSPAM
from edgederain.model.net import DerainNet, DerainOutput, StepOutput, build_model
from edgederain.model.rlcn import RLCN

__all__ = [
    "DerainNet",
    "DerainOutput",
    "MSPAM",
    "ModelConfig",
    "PRESETS",
    "RLCN",
    "RainAutoencoder",
    "StepOutput",
    "build_model",
    "get_preset",
    "transfer_decoder",
]
