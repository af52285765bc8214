#!/usr/bin/env bash
# The CycleGAN-DCT demo on the embedded data (at most 10 minutes on an idle 2-core CPU, float32): the stego
# preset (simulated nuclei with exact labels as domain B, ellipse masks twice as dense as domain A) trained
# vanilla and with the DCT low-pass (cutoff 0.5), both at once (--jobs 2); a small StarDist trained on the
# labelled simulated nuclei (the reference: it segments G(m) beside Otsu and is the "labelled B" baseline); then
# for each model: the steganography measures, 100 synthetic pairs (G(m), F(G(m))) and the same StarDist trained
# on them; every StarDist scored on held-out simulated nuclei and on stardist's real image; one table and two
# figures. Every StarDist trains on 64 px patches (the pairs' size; the 96 px labelled fields too: one budget).
# Run through `make demo-cyclegan`, which creates .venv and puts it first on PATH. Re-running reuses what is
# done (the trainings resume; the measures are recomputed).
set -euo pipefail
OUT=${OUT:-result/cyclegan_dct/demo}
SEED=${SEED:-0}
t0=$(date +%s)
echo "== CycleGAN-DCT demo: vanilla vs DCT 0.5 on the stego preset (seed $SEED) -> $OUT"
python -m cyclegan_dct.ablate --preset stego --cutoffs 1.0,0.5 --seed "$SEED" --out "$OUT" --jobs 2 \
    --size 64 --stego-n 50 --n-synthetic 100 --test-data simulated,stardist \
    --sd-epochs 10 --sd-steps-per-epoch 50 --sd-unet-depth 2 --sd-unet-filters 16 --sd-n-rays 16 --sd-patch-size 64
echo "   ($(( $(date +%s) - t0 )) s)"
cat <<END
Done. Report: $OUT/ablation.md; figures: $OUT/variants.png (one row per variant: m, G(m), CLAHE G(m),
CLAHE high-pass, F(G(m)), F(G(m)+noise), a real crop) and $OUT/ablation.png; per model: $OUT/stego/*/stego.json.
The experiment over 10 seeds and its verdict: docs/steganography.md.
END
