"""The one exception type a user sees as a single line and exit code 2."""


class UserError(Exception):
    """Bad input from the user (config value, data file, path); the message names it and the fix."""

    exit_code = 2
