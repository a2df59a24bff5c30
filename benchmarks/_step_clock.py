"""The window of training steps a lab-overhead run times, from the steps' own reports."""
import time

from . import _timing


class StepClock:
    """Times the steps warmup+1 .. warmup+steps from the reports of the steps as they end.

    `record(step, seconds, loss)` is called once per finished step (1-based global step, the
    trainer's own compute time of the step, its loss); returns True once the window is done.
    """

    def __init__(self, warmup, steps):
        _timing.check_count(warmup, "warmup", "StepClock")
        _timing.check_count(steps, "steps", "StepClock")
        self.first, self.last = warmup, warmup + steps
        self.started = self.ended = None
        self.compute_seconds = 0.0
        self.losses = []

    def record(self, step, seconds, loss, now=None):
        now = time.perf_counter() if now is None else now
        if step == self.first:
            self.started = now
        elif self.first < step <= self.last and self.started is not None:
            self.compute_seconds += seconds
            self.losses.append(float(loss))
            if step == self.last:
                self.ended = now
        return self.done

    def record_report(self, report):
        """record() of a StepReport, taken in the thread that sends it (the worker's)."""
        self.record(report.step, report.seconds, report.loss)

    @property
    def done(self):
        return self.ended is not None

    def result(self):
        """{"steps_per_s", "seconds", "compute_seconds", "losses"} of the finished window."""
        if not self.done:
            raise RuntimeError(f"StepClock: steps {self.first + 1}..{self.last} were not all seen")
        seconds = self.ended - self.started
        return {"steps_per_s": (self.last - self.first) / seconds, "seconds": seconds,
                "compute_seconds": self.compute_seconds, "losses": self.losses}
