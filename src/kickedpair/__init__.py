"""kickedpair: two particles in a hard-wall well kicked by an optical lattice."""

__version__ = "0.1.0"
