"""Suite-wide settings: tiny models train fastest single-threaded, and one thread
keeps timings sane when the 2-core CI machine is shared."""

import torch

torch.set_num_threads(1)
