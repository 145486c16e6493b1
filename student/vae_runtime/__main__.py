"""`python -m vae_runtime stage DIR`: make DIR a valid `VAE_DATA_DIR` (see `vae_runtime.data`)."""
import sys

from vae_runtime.data import main

sys.exit(main())
