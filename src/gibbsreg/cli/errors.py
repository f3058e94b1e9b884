"""The command line's error classes and exit statuses."""

EXIT_OK = 0
EXIT_DATA = 1  # a file that is missing, unreadable, empty or holds bad values
EXIT_USAGE = 2  # a bad option: unknown column, malformed prior, conflicting flags
EXIT_INTERRUPTED = 130  # 128 + SIGINT, after saving what was drawn
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader of our output went away


class CLIError(Exception):
    """An error the command line reports as one line on stderr with ``status``."""

    status = EXIT_DATA


class DataError(CLIError):
    status = EXIT_DATA


class UsageError(CLIError):
    status = EXIT_USAGE
