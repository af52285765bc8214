"""cyclegan_dct (work in progress)."""
