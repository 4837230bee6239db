"""The sweep over the ``(hbar, m)`` grid (MODEL.md section 4).

* :mod:`.plan` -- presets, the grid, per-cell run configs, file layout (used by the Snakefile).
* :mod:`.resources` -- per-cell resource estimates (memory of a quantum cell).
* :mod:`.aggregate` -- ``eta = Dq / Dc``, exponential fits, thresholds, tidy tables.
* :mod:`.figures` -- the phase diagram and ``eta(hbar)`` per mass ratio.
* :mod:`.status` -- which cells are done, running, partial, failed or missing.

The workflow itself lives in ``Snakefile`` and ``workflow/rules/*.smk``; the
modules here are plain functions so that they can be tested without Snakemake.
"""
