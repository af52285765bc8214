"""Run by tests/test_msrgan_train_cli.py in a subprocess (one process per MirroredStrategy set-up).

``python tests/msrgan_mirrored_run.py compare|cli VGG OUT_DIR`` splits the CPU into two logical
devices, then either trains the same two steps with the default and the mirrored strategy
(``compare``) or runs the trainer's own path with ``--strategy mirrored`` (``cli``), and prints
``RESULT<json>``.
"""

import json
import sys

import keras
import numpy as np
import tensorflow as tf


def main(mode, vgg, out_dir):
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from data.engine.distribute import make_strategy
    from msrgan.config import MSRGANConfig
    from msrgan.recipe import build_msrgan, train

    config = MSRGANConfig(n_blocks=2, filters=8, d_filters=4, dense_units=8, image_size=32, dropout=0.0,
                          batch_size=4, vgg_weights=vgg, pretrain_steps=1)
    results = {}
    if mode == "compare":
        hr = np.random.default_rng(0).uniform(-1, 1, (8, 32, 32, 3)).astype("float32")
        for name in ("default", "mirrored"):
            keras.utils.set_random_seed(0)
            strategy = make_strategy(name)
            with strategy.scope():
                gan = build_msrgan(config, sync_bn=name == "mirrored")
            ds = tf.data.Dataset.from_tensor_slices(hr).batch(4, drop_remainder=True)
            hist = gan.fit(ds, epochs=1, verbose=0).history
            results[name] = {
                "replicas": strategy.num_replicas_in_sync,
                "logs": {k: float(v[-1]) for k, v in hist.items()},
                "g": [w.numpy().tolist() for w in gan.generator.weights],
                "d": [w.numpy().tolist() for w in gan.discriminator.weights],
            }
    else:  # the CLI's path (datasets, callbacks, export); one MirroredStrategy per process
        config = config.replace(strategy="mirrored", epochs=1, steps_per_epoch=2, val_steps=1, demo_n=40)
        out = train(config, backup_dir=out_dir + "/backup", logdir=out_dir + "/logs", result_dir=out_dir + "/res",
                    verbose=0)
        results["step"] = out["step"]
    print("RESULT" + json.dumps(results))


if __name__ == "__main__":
    main(*sys.argv[1:4])
