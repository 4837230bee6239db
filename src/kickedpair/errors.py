"""Errors every engine shares."""


class GuardError(RuntimeError):
    """A numerical guard tripped; the message names the cell, the guard and the value."""


def guard_message(cell: str, guard: str, t: int, value: str, hint: str = "") -> str:
    msg = f"cell {cell}: guard '{guard}' tripped at t={t}: value {value}"
    return f"{msg}; {hint}" if hint else msg
