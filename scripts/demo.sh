#!/usr/bin/env bash
# The main job on the embedded demo data, with a small budget (at most 10 minutes
# with the install on an idle 2-core CPU): miniVGG19 -> mSRGAN -> comparison with
# nearest/bicubic. Run through `make demo`, which creates .venv and puts it first on PATH.
# Re-running resumes from backup/ (and does nothing more once the epochs are done).
# Every departure from the original's numbers below is a named option, explained in docs/departures.md.
set -euo pipefail
# TensorFlow start-up lines: the CLIs keep them off (data.cli.quiet) unless --verbose or TF_CPP_MIN_LOG_LEVEL is set

# mixed_bfloat16 where the hardware runs bfloat16 natively (x86 AVX512-BF16 or AMX, or a GPU),
# float32 elsewhere (bfloat16 emulation on older CPUs is slower than float32). PRECISION=... overrides.
if [ -z "${PRECISION:-}" ]; then
    if grep -qwE 'avx512_bf16|amx_bf16' /proc/cpuinfo 2>/dev/null; then
        PRECISION=mixed_bfloat16
    elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
        PRECISION=mixed_bfloat16
    else
        PRECISION=float32
    fi
fi
# SEED=<n>: the trainers' --seed (initial weights, batch order; the demo data stay the same)
SEED=${SEED:-0}
echo "precision: $PRECISION, seed: $SEED"
t0=$(date +%s)
stage() { local now; now=$(date +%s); echo "   ($(( now - t0 )) s so far)"; }

echo "== 1/3 miniVGG19 classifier on the demo data (backup/vgg19, logs/vgg19)"
# Departures from the original (each a named option, reasons in docs/departures.md):
# --base-filters 16: a sixteenth of the convolution cost, so the classifier and the content loss fit the budget;
# --dense-init glorot_uniform: the original's stddev-0.1 dense kernels saturate the softmax at the start;
# --bn-momentum 0.9 --bn-recalibration-batches 4: BN statistics that match the final weights;
# --no-augment: the original's box blur of up to 4 px hides the small structures that tell classes apart;
# --lr 3e-4 (original 1e-4), batch 16 (original 128), 200 steps: a short run.
python -m vgg19.train --epochs 5 --steps-per-epoch 40 --batch-size 16 --lr 3e-4 --base-filters 16 \
    --dense-init glorot_uniform --no-augment --bn-momentum 0.9 --bn-recalibration-batches 4 \
    --precision "$PRECISION" --seed "$SEED"
stage

echo "== 2/3 mSRGAN (backup/msrgan, logs/msrgan, result/msrgan)"
# 700 MSE-only pre-training steps (7 epochs of 100), then 100 adversarial steps with the full loss
# (MSE + miniVGG19 content + adversarial). Departures (docs/departures.md): --residual-bicubic
# (G learns the correction to bicubic, starting at bicubic quality) with --n-blocks 6 (original 15),
# --g-lr 2e-3 (original 1e-4) decaying x0.8 per 100 steps from step 200, batch 8 (original 16) and
# no dropout make the short budget count; --adv-g-lr 1e-4 returns to the original's G learning rate
# for the adversarial steps (at the pre-training lr the first steps with the new loss cost up to 0.2 dB).
# --adv-weight 1e-6 (original 1e-5) and --d-lr 1e-4 (original 1e-3): the original's D (no BN) can
# blow up within the adversarial steps, and its gradient then wrecks G.
# generator.keras is the adversarial epoch with the best validation PSNR (here the last, step 800;
# backup/msrgan/export.json says which); generator_pretrained.keras is the end of pre-training
# (step 700), the SRResNet-style model.
python -m msrgan.train --residual-bicubic --n-blocks 6 --dropout 0 --batch-size 8 --g-lr 2e-3 \
    --g-lr-decay 0.8 --g-lr-decay-start 200 --pretrain-steps 700 --epochs 8 --steps-per-epoch 100 \
    --adv-g-lr 1e-4 --adv-weight 1e-6 --d-lr 1e-4 --precision "$PRECISION" --seed "$SEED"
stage

echo "== 3/3 pre-trained and final mSRGAN vs nearest/bicubic on the demo test split (result/msrgan_eval)"
python -m msrgan.evaluate backup/msrgan/generator_pretrained.keras backup/msrgan/generator.keras
stage
cat <<'EOF'
Done. Exported generator: backup/msrgan/generator.keras (backup/msrgan/export.json says which epoch);
comparison with bicubic: result/msrgan_eval/report.md. Next, in this folder:
  . .venv/bin/activate                     # once per shell: python -m ..., the CLIs and tensorboard
  tensorboard --logdir logs                # then open http://localhost:6006
  python -m msrgan.predict YOUR_IMAGE.png  # 4x with that generator -> result/msrgan_predict/
EOF
