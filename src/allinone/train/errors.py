"""Errors of a training run that the user can act on."""


class TrainingError(RuntimeError):
    """Training cannot go on (non-finite loss, unusable data); the message says at which step."""
