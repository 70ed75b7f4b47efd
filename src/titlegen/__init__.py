"""titlegen: make a Reddit title generator with GPT-2.

Pull real post titles (BigQuery or a local dump), finetune GPT-2 on them, sample new titles.
The command-line interface is in :mod:`titlegen.cli`; each step of the job has its own module.
"""

__version__ = "0.1.0"
