"""What the management commands write on stderr besides their results: progress bars (on a
terminal only), the loggers quieted while a bar is drawn, and the warnings they share."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.management.base import OutputWrapper

NOT_CONFIGURED = "Gemini is not configured (GOOGLE_API_KEY is empty): no message was made."


class BarStream:
    """A command's stderr as tqdm writes to it: as is, no newline added; a bar only on a terminal."""

    def __init__(self, wrapper: OutputWrapper) -> None:
        self.wrapper = wrapper

    def write(self, text: str) -> None:
        # style_func=str: the stderr wrapper would colour every write red on a terminal.
        self.wrapper.write(text, ending="", style_func=str)

    def flush(self) -> None:
        self.wrapper.flush()

    def isatty(self) -> bool:
        return self.wrapper.isatty()


@contextmanager
def quiet(logger_name: str) -> Iterator[None]:
    """Only warnings and errors from this logger meanwhile: its INFO lines would break a bar."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
