"""The one exception type for user mistakes: the CLI prints its message on one line and exits 2."""


class InputError(ValueError):
    """Bad input (file, key or value); the message names it and says what to do."""
