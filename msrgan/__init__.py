"""msrgan (work in progress)."""
