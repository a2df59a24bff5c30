"""The names inside a checkpoint file and the budgets a reader holds a file to."""

FORMAT = "cyconv-checkpoint"
VERSION = 2
META_KEY = "meta"
PARAM_PREFIX = "param/"
OPTIM_PREFIX = "optim/"
BUFFER_PREFIX = "buffer/"

# A checkpoint from a stranger is read against these limits before anything is inflated or
# built, so that a damaged or hostile file costs a clear message, not the machine's memory.
# AlexNet, the largest preset, has about 60 million parameters; with Adam's two state arrays
# its file holds about 0.7 GB, well inside them.
MAX_META_BYTES = 64 << 20          # the JSON: architecture, settings, a long run's history
MAX_MEMBER_BYTES = 2 << 30         # one array
MAX_TOTAL_BYTES = 8 << 30          # every member together, as declared
MAX_MEMBERS = 10_000
MAX_COMPRESSION_RATIO = 200        # declared size / stored size, for members over 1 MiB
COMPRESSION_CHECK_BYTES = 1 << 20
MAX_JSON_DEPTH = 32
MAX_LAYERS = 256
MAX_PARAMETERS = 250_000_000


class CheckpointError(ValueError):
    """A checkpoint file is missing, damaged, foreign or does not fit the model."""
