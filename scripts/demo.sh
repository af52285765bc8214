#!/usr/bin/env bash
# The main job on the embedded demo data, with a small budget (under 10 minutes
# on a 2-core CPU): miniVGG19 -> mSRGAN -> comparison with nearest/bicubic.
# Run through `make demo`, which creates .venv and puts it first on PATH.
# Re-running resumes from backup/ (and does nothing more once the epochs are done).
set -euo pipefail
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
PRECISION=${PRECISION:-mixed_bfloat16}

echo "== 1/3 miniVGG19 classifier on the demo data (backup/vgg19, logs/vgg19)"
# --bn-momentum 0.9: with the original 0.99 the BN moving statistics need several hundred
# steps to settle, and until then the content-loss features are ~0 (see README).
python -m vgg19.train --epochs 4 --steps-per-epoch 20 --batch-size 16 --bn-momentum 0.9 --precision "$PRECISION"

echo "== 2/3 mSRGAN (backup/msrgan, logs/msrgan, result/msrgan)"
# 200 MSE-only pre-training steps, then 50 adversarial steps with the full loss. The
# generator lr 1e-3 (original: 1e-4) and no dropout make this short budget count.
python -m msrgan.train --epochs 5 --steps-per-epoch 50 --pretrain-steps 200 --g-lr 1e-3 --dropout 0 \
    --batch-size 16 --precision "$PRECISION"

echo "== 3/3 mSRGAN vs nearest/bicubic on the demo test split (result/msrgan_eval)"
python -m msrgan.evaluate backup/msrgan/generator.keras

echo "Done. TensorBoard: tensorboard --logdir logs"
