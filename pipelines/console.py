"""The console logger of every run: Dagster's lines, but a failed step shows its error's message,
never a stack trace (the full trace stays in Dagster's event log, in the UI)."""

import logging
import re
import sys

import dagster as dg

_FAILURE_PREFIX = re.compile(r"^(dagster\._core\.definitions\.events\.)?Failure: ")


class ConciseFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        head, sep, _ = line.partition("\n\nStack Trace:")
        if not sep:
            return line
        parts = [p.strip() for p in head.split("\n") if p.strip() and set(p.strip()) - set("^~ -")]
        return " ".join(_FAILURE_PREFIX.sub("", p) for p in parts)


@dg.logger(
    config_schema={"log_level": dg.Field(str, is_required=False, default_value="INFO")},
    description="Console lines for operators: progress and warnings; a failed step's message without its trace.",
)
def console(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = logging.getLogger("deferral")
    logger.setLevel(init_context.logger_config["log_level"].upper())
    logger.handlers = []
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(ConciseFormatter("%(asctime)s - %(levelname)s - %(message)s"))
    logger.addHandler(handler)
    logger.propagate = False
    return logger
