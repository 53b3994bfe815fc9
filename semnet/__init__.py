"""semnet: personalized federated semantic communication on an emulated network."""

__version__ = "0.1.0"
