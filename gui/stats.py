"""Small pure-Python/NumPy numbers for the views: smoothing, speed and ETA, ranked mistakes."""
from __future__ import annotations

import math
from collections import deque

import numpy as np
from scipy.signal import lfilter


def smooth(values, weight: float = 0.9) -> np.ndarray:
    """Exponential moving average with bias correction (as TensorBoard draws training curves).

    out[t] = EMA_t / (1 - weight**(t+1)) with EMA_t = weight*EMA_(t-1) + (1-weight)*x_t, EMA_-1 = 0,
    so the first points are not pulled toward zero. weight in [0, 1): 0 = no smoothing.
    Vectorized (scipy.signal.lfilter): the GUI redraws thousands of points 30 times a second.
    """
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smooth: weight must be in [0, 1), got {weight}")
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"smooth: expected a 1-D series, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError("smooth: the series holds NaN or inf values")
    if values.size == 0 or weight == 0.0:
        return values.copy()
    average = lfilter([1.0 - weight], [1.0, -weight], values)
    return average / (1.0 - weight ** np.arange(1, values.size + 1))


class RateMeter:
    """Steps per second over the last `window` arrivals of steps (a moving window, so pauses
    age out); an arrival may bring several steps (the window gets them in batches)."""

    def __init__(self, window: int = 50):
        if window < 2:
            raise ValueError(f"RateMeter: window must be >= 2, got {window}")
        self._arrivals: deque[tuple[float, int]] = deque(maxlen=window)    # (time, steps so far)
        self._steps = 0

    def reset(self) -> None:
        self._arrivals.clear()
        self._steps = 0

    def tick(self, now: float, steps: int = 1) -> None:
        """Record that `steps` more steps had finished at time `now` (seconds, monotonic)."""
        if steps < 1:
            raise ValueError(f"RateMeter.tick: steps must be >= 1, got {steps}")
        self._steps += steps
        self._arrivals.append((now, self._steps))

    def rate(self) -> float:
        """Steps per second between the oldest and newest arrival kept, 0.0 until two arrived."""
        if len(self._arrivals) < 2:
            return 0.0
        (first, before), (last, after) = self._arrivals[0], self._arrivals[-1]
        return (after - before) / (last - first) if last > first else 0.0


def eta_seconds(done: int, total: int, steps_per_second: float) -> float:
    """Seconds left for `total - done` steps at the given speed; inf while the speed is unknown."""
    if total < 0 or done < 0:
        raise ValueError(f"eta_seconds: done={done} and total={total} must be >= 0")
    remaining = max(total - done, 0)
    if remaining == 0:
        return 0.0
    return remaining / steps_per_second if steps_per_second > 0 else math.inf


def format_duration(seconds: float) -> str:
    """`h:mm:ss` or `m:ss`; '--:--' for an unknown (infinite or NaN) duration."""
    if not math.isfinite(seconds) or seconds < 0:
        return "--:--"
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def ranked_mistakes(labels, predictions, probabilities, limit: int = 32) -> np.ndarray:
    """Indices of misclassified samples, the most confidently wrong first.

    labels, predictions: (N,) ints; probabilities: (N, K). Confidence is the probability of the
    (wrong) predicted class. Returns at most `limit` indices.
    """
    labels = np.asarray(labels)
    predictions = np.asarray(predictions)
    probabilities = np.asarray(probabilities)
    if labels.shape != predictions.shape or labels.ndim != 1:
        raise ValueError(f"ranked_mistakes: labels {labels.shape} and predictions {predictions.shape} "
                         "must both be (N,)")
    if probabilities.ndim != 2 or probabilities.shape[0] != labels.shape[0]:
        raise ValueError(f"ranked_mistakes: probabilities must be (N, K) with N={labels.shape[0]}, "
                         f"got {probabilities.shape}")
    wrong = np.flatnonzero(labels != predictions)
    confidence = probabilities[wrong, predictions[wrong]]
    order = np.argsort(-confidence, kind="stable")
    return wrong[order][:limit]
