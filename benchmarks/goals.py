"""Issue #13's goals ("Speed 2"), in one place: every verdict of `python -m benchmarks.run`
comes from the numbers and the rules here.

Every goal is a ratio of two numbers measured in the same run (cyconv / torch, 1 thread /
2 threads, achieved / ceiling GFLOP/s), because absolute times drift on a shared machine.
The speed goals are the issue's, written for 1 and 2 threads (``GOAL_THREADS``); the other
counts of a thread sweep are printed without a goal. Memory does not depend on the thread
count, so its goal is judged at every count.
"""

GOAL_BATCH = 64
GOAL_THREADS = (1, 2)
TRAIN_RATIO_GOALS = {"A": 0.5, "B": 0.5, "C": 0.5, "D": 0.8}   # cyconv / torch, batch 64
SMALL_BATCHES = (1, 8)
SMALL_BATCH_RATIO_GOAL = 0.3                                   # the app's Step button
INFER_RATIO_GOAL = 0.4
THREAD_SPEEDUP_GOAL = 1.7          # time at 1 thread / time at 2 threads, batch 64
SPEEDUP_GOAL_THREADS = 2
CEILING_SHARE_GOAL = 0.5           # achieved GFLOP/s / float32 matmul GFLOP/s, 1 thread
CEILING_GOAL_THREADS = 1
MNIST_RATIO_GOAL = 0.6
RSS_RATIO_GOAL = 0.5               # cyconv / torch peak resident memory
REFERENCE_SPEEDUP_GOAL = 5.0       # the first issue's: reference / cyconv

NOISY_SPREAD = 0.25                # a ratio whose cells' IQR exceeds this share of the
#                                    median can flip its verdict between runs


def ratio_goal(mode, model, batch, threads):
    """The issue's goal for cyconv / torch of a cell, or None where it sets none."""
    if threads not in GOAL_THREADS:
        return None
    if mode == "infer":
        return INFER_RATIO_GOAL
    if batch in SMALL_BATCHES:
        return SMALL_BATCH_RATIO_GOAL
    if batch == GOAL_BATCH:
        return TRAIN_RATIO_GOALS[model]
    return None


def thread_speedup_goal(engine, batch, threads, base_threads):
    """≥ 1.7 for cyconv's 2-thread training step at batch 64 against 1 thread; else None
    (torch's speedup is printed for comparison, the goal is cyconv's)."""
    if (engine == "cyconv" and batch == GOAL_BATCH and threads == SPEEDUP_GOAL_THREADS
            and base_threads == 1):
        return THREAD_SPEEDUP_GOAL
    return None


def ceiling_share_goal(engine, mode, batch, threads):
    """≥ 50 % of the matmul ceiling for cyconv's training step at batch 64 on 1 thread."""
    if (engine == "cyconv" and mode == "train" and batch == GOAL_BATCH
            and threads == CEILING_GOAL_THREADS):
        return CEILING_SHARE_GOAL
    return None


def mnist_goal(threads):
    return MNIST_RATIO_GOAL if threads in GOAL_THREADS else None


def verdict(value, goal, higher_is_better=False):
    """PASS or FAIL of ``value`` against ``goal``; "-" without either."""
    if value is None or goal is None:
        return "-"
    met = value >= goal if higher_is_better else value <= goal
    return "PASS" if met else "FAIL"


def divide(a, b):
    """a / b, or None when either is missing or b is zero."""
    return a / b if a is not None and b else None


# The summary's lines, in the order: (table key, what the goal says).
GOAL_LINES = (
    ("torch_train", "training step ≤ 0.5× torch (A, B, C), ≤ 0.8× (D); batch 64, 1 and 2 thr"),
    ("torch_infer", f"inference ≤ {INFER_RATIO_GOAL}× torch, every model"),
    ("torch_small", f"training step at batch 1 and 8 ≤ {SMALL_BATCH_RATIO_GOAL}× torch"),
    ("threads", f"2 threads ≥ {THREAD_SPEEDUP_GOAL}× faster than 1, batch 64, every model"),
    ("ceiling", f"training step ≥ {CEILING_SHARE_GOAL:.0%} of the float32 matmul ceiling, "
                f"1 thread"),
    ("mnist", f"one MNIST epoch of mnist_cnn ≤ {MNIST_RATIO_GOAL}× torch"),
    ("rss", f"peak memory ≤ {RSS_RATIO_GOAL}× torch"),
    ("reference", f"≥ {REFERENCE_SPEEDUP_GOAL:.0f}× the NumPy reference (the first issue's)"),
)

# The goals met by a value at least as large as the goal (the others: at most as large).
HIGHER_IS_BETTER = frozenset({"threads", "ceiling", "reference"})
