"""The lab's Qt widgets, one view per module."""
