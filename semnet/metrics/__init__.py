"""Image-quality metrics and the run directory's recorders."""

from semnet.metrics.image import ms_ssim, psnr, ssim
from semnet.metrics.rundir import JsonlWriter, RunDirectory

__all__ = ["JsonlWriter", "RunDirectory", "ms_ssim", "psnr", "ssim"]
