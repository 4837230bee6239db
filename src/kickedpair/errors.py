"""Errors every engine shares."""


class ConfigError(ValueError):
    """A user-facing configuration mistake; the message names key and value."""


class ResourceError(ConfigError):
    """A run that cannot fit: it needs more memory (or larger numbers) than this process may
    use.  Raised before anything is allocated; the command line reports it like a config
    mistake (one line, exit status 2)."""


class GuardError(RuntimeError):
    """A numerical guard tripped; the message names the cell, the guard and the value."""


def guard_message(cell: str, guard: str, t: int, value: str, hint: str = "") -> str:
    msg = f"cell {cell}: guard '{guard}' tripped at t={t}: value {value}"
    return f"{msg}; {hint}" if hint else msg
