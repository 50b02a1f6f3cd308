"""``python -m edgederain``: the command line, as the ``edgederain`` script (and as ``torchrun
--nproc-per-node N -m edgederain train ...`` starts it in each process)."""

from edgederain.cli import run

if __name__ == "__main__":
    run()
