"""Test-wide settings: quiet TensorFlow, float32 policy restored after each test."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _reset_dtype_policy():
    yield
    import keras

    keras.mixed_precision.set_global_policy("float32")
