"""`python -m vae_lib stage DIR`: same as `python -m vae_runtime stage DIR` (make DIR a valid VAE_DATA_DIR)."""
import sys

from vae_runtime.data import main

sys.exit(main())
