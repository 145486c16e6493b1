"""`python -m vae_lib stage DIR`: same as `python -m vae_lib.data stage DIR`, without runpy's double-import warning."""
import sys

from vae_lib.data import main

sys.exit(main())
