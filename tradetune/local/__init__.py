"""The embedded runner behind `tradetune run`: a FineTuneJob on one machine, same code as a cluster.

from tradetune.local import RunOptions, run_job
report = run_job(RunOptions(file=Path("examples/finetunejob-local.yaml"), serve=False), console)
"""

from tradetune.local._files import STATUS_FILE, read_status, write_status
from tradetune.local._runner import SAMPLE_INSTRUCTION, RunOptions, RunReport, ask, default_output, run_job

__all__ = [
    "SAMPLE_INSTRUCTION",
    "STATUS_FILE",
    "RunOptions",
    "RunReport",
    "ask",
    "default_output",
    "read_status",
    "run_job",
    "write_status",
]
