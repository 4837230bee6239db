"""The sweep over the ``(hbar, m)`` grid (MODEL.md section 4): :mod:`.plan` (presets, grid, run
configs, file layout), :mod:`.resources` (what a quantum job asks for), :mod:`.aggregate`
(``eta = Dq / Dc``, fits, thresholds, tables), :mod:`.figures`, :mod:`.status` (where each cell
stands) and :mod:`.files` (results set aside, tables replaced together).  The workflow itself is
``Snakefile`` and ``workflow/rules/*.smk``; these are plain functions, testable without Snakemake.
"""
