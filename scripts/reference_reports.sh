#!/usr/bin/env bash
# Regenerates the committed reference reports under reports/: each task's default profile with the claim experiments
# that run on it, the published anchors (MNIST and news at profile=full), the learning curves, and the index.
# Finished runs are skipped and interrupted ones resume, so a second call only trains what is missing.
# Usage: scripts/reference_reports.sh [target ...] [key=value ...]
#   targets (default: all of them, in this order): mnist mnist_cnn mnist_resnet news pcb (a task's default profile
#   and its claims), mnist-full news-full (the anchors), curves (curve_mnist curve_news curve_pcb), tune (a 20-trial
#   dropout study on MNIST);
#   key=value overrides, e.g. paths.runs_dir=/elsewhere/runs, go to every command.
# Idle 2-core wall times: README, "Reference reports".
set -euo pipefail
cd "$(dirname "$0")/.."
targets=()
overrides=()
for arg in "$@"; do
  if [[ "$arg" == *=* ]]; then overrides+=("$arg"); else targets+=("$arg"); fi
done
[ ${#targets[@]} -gt 0 ] || targets=(mnist mnist_cnn mnist_resnet news pcb mnist-full news-full curves tune)
declare -A experiments=([mnist]="e3 e4 e5 e6 e9 e10 e11 e12" [mnist_cnn]="e7 e13" [mnist_resnet]="e14" [news]="e1"
                        [pcb]="e2 e15")
run() { python -m paddle_reg.run "$@" "${overrides[@]}"; }
for target in "${targets[@]}"; do
  case "$target" in
    mnist|mnist_cnn|mnist_resnet|news|pcb)
      # claim E8 (time cost) is judged from this benchmark's record, reports/benchmarks/regularization_cost.json
      [ "$target" != mnist ] || python benchmarks/regularization_cost.py
      for name in ${experiments[$target]:-}; do run "experiment=$name"; done
      run "task=$target";;  # last: its report's claims include the experiments'
    mnist-full) run task=mnist profile=full;;
    news-full) run task=news profile=full;;
    curves) for name in curve_mnist curve_news curve_pcb; do run "experiment=$name"; done;;
    tune) python -m paddle_reg.tune experiment=mnist_small regime=dropout trials=20 "${overrides[@]}";;
    *) echo "reference_reports.sh: unknown target '$target' (mnist mnist_cnn mnist_resnet news pcb mnist-full news-full curves tune)" >&2
       exit 2;;
  esac
done
