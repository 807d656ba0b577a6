"""One error type reaches the user: a message, a hint naming the next command, an exit code."""

EXIT_FAILED = 1  # the operation ran and failed (a service never got healthy, a build failed)
EXIT_USAGE = 2  # bad input or configuration: nothing was started or changed
EXIT_UNHEALTHY = 3  # `status`: the stack answers but is not all healthy
EXIT_NO_ENGINE = 4  # no Docker engine answers at the address (every command, check too)
EXIT_INTERRUPTED = 130  # Ctrl-C


class StackError(Exception):
    def __init__(self, message: str, hint: str | None = None, exit_code: int = EXIT_FAILED,
                 details: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code
        self.details = details  # multi-line context (logs, health output), shown below the line


class ConfigError(StackError):
    """Bad settings or arguments: reported before anything is touched."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message, hint, EXIT_USAGE)
