"""The one root of every error a user can fix.

`run_cli` (io_utils) prints a `UserError` as one line, `error: ...`, and exits 2 without a
traceback. Anything else is a bug: the traceback goes to a log file and the line names it.
"""


class UserError(Exception):
    """A problem the user can fix; printed as one line, exit code 2, no traceback."""


class ConfigError(UserError):
    """A config problem; the message is one line saying what is wrong and what is valid."""


class InputError(UserError):
    """Bad user input; the message is one line naming the file and the problem."""


__all__ = ["UserError", "ConfigError", "InputError"]
