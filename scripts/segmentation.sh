#!/usr/bin/env bash
# The mSRGAN thesis's proof of concept on the demo, after `make demo`: does 4x SR of the low-resolution fields
# help the nuclei segmentation that follows? Segments nuclei in HR, nearest, bicubic, the pre-trained and the
# final generator's output with two segmenters (classical Otsu + watershed; StarDist trained on the HR
# training fields), scores them against the exact labels and tests SR against bicubic and nearest.
# Run through `make segmentation` (uses .venv); writes result/msrgan_segmentation/.
set -euo pipefail
for f in backup/msrgan/generator.keras backup/msrgan/generator_pretrained.keras; do
    if [ ! -f "$f" ]; then
        echo "$f: missing; run 'make demo' first (it trains the generators this study compares)" >&2
        exit 1
    fi
done
t0=$(date +%s)
# StarDist: its architecture defaults (32 rays, U-Net depth 3, 32 filters, grid 2) with a CPU budget of
# 1000 steps of batch 8 (StarDist's default is 40000 of batch 4) on 96 px patches; 5 % of the 1170 training
# fields tune its thresholds.
python -m msrgan.evaluate backup/msrgan/generator_pretrained.keras backup/msrgan/generator.keras \
    --segmentation --sd-epochs 20 --sd-steps-per-epoch 50 --sd-batch-size 8 --sd-val-fraction 0.05 \
    --out result/msrgan_segmentation "$@"
echo "   ($(( $(date +%s) - t0 )) s)"
echo "Report: result/msrgan_segmentation/segmentation.md, figure: segmentation.png"
