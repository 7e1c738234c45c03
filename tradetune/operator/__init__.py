"""The kopf operator: thin handlers over pure reconcile functions, manifest builders, metrics.

- `settings`: environment variables → `OperatorSettings`;
- `builders`: Kubernetes manifests of the children (pure);
- `reconcile_finetunejob`, `reconcile_modelserve`: `decide(body, observed, settings, now)` (pure);
- `runtime`: fetch, decide, apply (the I/O edge); `kube`: the small API client it uses;
- `progress_decision`: live progress from the trainer's log → status patch and events (pure);
  `progress_loop`: its I/O, run by the runtime's own loop (pod list, log read, patch);
- `handlers`: the kopf registrations (importing it imports kopf); `metrics`: Prometheus series;
- `python -m tradetune.operator`: runs it (see docs/operator.md).

Importing this package imports nothing heavy; kopf comes in with `handlers` and `runtime`.
"""
