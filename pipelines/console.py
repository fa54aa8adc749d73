"""The console logger of every run: what an operator expects from a long job.

At INFO (the default) a line per step as it finishes — ``[k/N]`` steps of the run, the step's
time, the run's elapsed time and what the step said (rows read, partitions computed and kept) —
warnings and errors as they happen, and a heartbeat while a step runs long (a line every
``heartbeat_seconds`` without output: the step and how long it has run). No run ids: a run's
console is one run. A failed step shows its error's message, never a stack trace (the full
trace stays in Dagster's event log, in the UI). At DEBUG (``deferral run --verbose``) every line
Dagster and the steps log, as they come (each partition's line among them).

Where steps run in processes of their own (multiprocess, Celery) a process sees only its step:
its lines carry no ``k/N``.

The lines go to the stream the run started with, on a descriptor of their own: while a plan runs,
Dagster's compute-log capture points the process's stdout and stderr at files and copies them back
with ``tail -F``, stopped when the plan ends, and what was written in its last moment (the last
step's line) was lost now and then (dagster-io/dagster#23336). The UI keeps every line in the run's
event log.
"""

from __future__ import annotations

import io
import logging
import os
import re
import sys
import threading
import time

import dagster as dg

_FAILURE_PREFIX = re.compile(r"^(dagster\._core\.definitions\.events\.)?Failure: ")


def concise(line: str) -> str:
    """A failed step's message without its stack trace (DuckDB's caret lines dropped)."""
    head, sep, _ = line.partition("\n\nStack Trace:")
    if not sep:
        return line
    parts = [p.strip() for p in head.split("\n") if p.strip() and set(p.strip()) - set("^~ -")]
    return " ".join(_FAILURE_PREFIX.sub("", p) for p in parts)


class ConciseFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return concise(super().format(record))


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}:{seconds:02d}"


def _own_copy(stream):
    """``stream`` on a descriptor of its own (the same terminal, pipe or file), which a later redirect of
    the process's stdout or stderr leaves where it is; ``stream`` itself when it has no descriptor."""
    try:
        fd = os.dup(stream.fileno())
    except (AttributeError, OSError, io.UnsupportedOperation):
        return stream
    return os.fdopen(fd, "w", encoding=getattr(stream, "encoding", None) or "utf-8", errors="replace")


def release(handler) -> None:
    """Closes the descriptor a run's handler owns, once the process's next run has a handler of its own
    (not in ``close``: Dagster's logging setup closes every handler of the process, the live one too)."""
    with handler.lock:
        if handler.owns_stream and not handler.stream.closed:
            handler.stream.close()


class OwnStreamHandler(logging.StreamHandler):
    """Every line as it comes (``--verbose``), on a descriptor of its own (:func:`_own_copy`)."""

    def __init__(self, stream):
        super().__init__(_own_copy(stream))
        self.owns_stream = self.stream is not stream

    def emit(self, record: logging.LogRecord) -> None:
        if not self.stream.closed:
            super().emit(record)


class ProgressHandler(logging.Handler):
    """Folds Dagster's records into a line per step (see the module's docstring)."""

    def __init__(self, stream, steps: list[str], heartbeat_seconds: float):
        super().__init__(logging.DEBUG)
        self.stream = _own_copy(stream)
        self.owns_stream = self.stream is not stream
        self.steps = set(steps)  # the asset steps reported (checks and observations fold into the summary)
        self.heartbeat_seconds = heartbeat_seconds
        self.started = time.monotonic()
        self.last_output = self.started
        self.running: dict[str, float] = {}  # step key -> when it started
        self.said: dict[str, list[str]] = {}  # step key -> its INFO lines, shown when it finishes
        self.done: set[str] = set()  # ops finished (a mapped op's copies count once)
        self.seen_run_start = False
        if heartbeat_seconds > 0:
            threading.Thread(target=self._heartbeat, daemon=True, name="console-heartbeat").start()

    def _write(self, line: str) -> None:
        if self.stream.closed:  # a run's handler closed when the process's next run began
            return
        self.stream.write(f"{time.strftime('%H:%M:%S')} {line}\n")
        self.stream.flush()
        self.last_output = time.monotonic()

    def _heartbeat(self) -> None:
        while True:
            time.sleep(min(self.heartbeat_seconds, 5))
            with self.lock:
                now = time.monotonic()
                if self.running and now - self.last_output >= self.heartbeat_seconds:
                    step, since = min(self.running.items(), key=lambda item: item[1])
                    elapsed = _clock(now - self.started)
                    self._write(f"… {step} running for {_clock(now - since)} (run elapsed {elapsed})")

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        step = meta.get("step_key")
        message = meta.get("orig_message") or record.getMessage()
        # (logging.Handler.handle holds self.lock, the handler's RLock, around emit; the heartbeat takes it too)
        if event is not None:
            self._event(event, step)
        elif record.levelno >= logging.WARNING:
            where = step or (f"resource {meta['resource_name']}" if meta.get("resource_name") else "")
            self._write(f"{record.levelname} {where + ': ' if where else ''}{concise(message)}")
        elif record.levelno >= logging.INFO:
            if step:
                self.said.setdefault(step, []).append(message)
            else:
                self._write(message)

    def _event(self, event, step: str | None) -> None:
        kind = event.event_type
        if kind == dg.DagsterEventType.RUN_START:
            self.seen_run_start = True
            self.started = time.monotonic()
        elif kind == dg.DagsterEventType.STEP_START and step:
            self.running[step] = time.monotonic()
        elif kind == dg.DagsterEventType.STEP_SUCCESS and step:
            seconds = time.monotonic() - self.running.pop(step, time.monotonic())
            node = step.split("[")[0].split(".")[0]  # a graph's op (name.op) and a mapped copy (op[key]) count once
            if self.steps and node not in self.steps:
                self.said.pop(step, None)
                return
            self.done.add(node)
            progress = f"[{len(self.done):>2}/{len(self.steps)}] " if self.seen_run_start and self.steps else ""
            said = " · ".join(self.said.pop(step, []))
            self._write(
                f"{progress}{step} {seconds:.1f} s (elapsed {_clock(time.monotonic() - self.started)})"
                + (f": {said}" if said else "")
            )
        elif kind == dg.DagsterEventType.STEP_FAILURE and step:
            self.running.pop(step, None)
            self.said.pop(step, None)
            error = event.event_specific_data.error
            cause = (error.cause or error).message if error else ""
            self._write(f"FAILED {step}: {concise(cause).splitlines()[0] if cause.strip() else 'see the UI'}")


_HANDLERS: dict[str, logging.Handler] = {}  # run id -> its handler


@dg.logger(
    config_schema={
        "log_level": dg.Field(str, is_required=False, default_value="INFO"),
        "steps": dg.Field([str], is_required=False, default_value=[]),
        "heartbeat_seconds": dg.Field(float, is_required=False, default_value=30.0),
    },
    description="Console lines for operators: a line per step with progress, warnings, a heartbeat in long "
    "steps, a failed step's message without its trace; every line at DEBUG.",
)
def console(init_context: dg.InitLoggerContext) -> logging.Logger:
    """Dagster initializes a run's loggers more than once in a process (the run, then its steps): a
    run's handler is made once, kept by run id, so the count goes on across them."""
    config = init_context.logger_config
    logger = logging.getLogger("deferral")
    level = config["log_level"].upper()
    # at INFO Dagster's events still come at DEBUG: the handler folds them into lines
    logger.setLevel(level if level == "DEBUG" else logging.DEBUG)
    logger.handlers = []
    handler = _HANDLERS.get(init_context.run_id)
    if handler is None:
        if level == "DEBUG":
            handler = OwnStreamHandler(sys.stderr)
            handler.setFormatter(ConciseFormatter("%(asctime)s - %(levelname)s - %(message)s"))
        else:
            handler = ProgressHandler(sys.stderr, config["steps"], config["heartbeat_seconds"])
        for done in _HANDLERS.values():  # one run at a time in a process: the previous run's handler is done
            release(done)
        _HANDLERS.clear()
        _HANDLERS[init_context.run_id] = handler
    logger.addHandler(handler)
    logger.propagate = False
    return logger
