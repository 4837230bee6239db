"""Quantum engine: exact one-particle Floquet maps and two-particle split-operator propagators.

The modules hold plain functions of arrays (and small objects holding precomputed
factors); drivers, output and MPI set-up live elsewhere.

* :mod:`.basis` -- grid, orthonormal DST-I, mode energies and momenta, FFT-friendly sizes.
* :mod:`.one_particle` -- exact one-particle map, random-kick realisations.
* :mod:`.two_particle` -- two-particle propagators (plain Strang, light-particle-exact, eps = 0).
* :mod:`.observables` -- momentum distributions, <p^2>, purity, norm, guards.
* :mod:`.resolution` -- grid sizes and substeps from physical estimates.
* :mod:`.slab` -- transforms of an x1-slab decomposed state across MPI ranks.
"""
