"""vgg19 (work in progress)."""
