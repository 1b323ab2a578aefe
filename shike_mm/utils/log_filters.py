"""Keep MMEngine's notices about its own internals out of a run's log."""
import logging

#: Messages MMEngine 0.10 logs as WARNINGs in every run: its own
#: CheckpointHook and LoggerHook build the deprecated FileClient, which
#: nothing a user configures can avoid.
MMENGINE_INTERNAL_NOTICES = (
    '"FileClient" will be deprecated in future',
    '"HardDiskBackend" is the alias of "LocalBackend"',
)


class MMEngineInternalNoticeFilter(logging.Filter):
    """Drops the records of :data:`MMENGINE_INTERNAL_NOTICES`."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not message.startswith(MMENGINE_INTERNAL_NOTICES)


def quiet_mmengine_internal_notices(logger: logging.Logger) -> None:
    """Attach :class:`MMEngineInternalNoticeFilter` to a run's logger.

    Args:
        logger (logging.Logger): The runner's logger.
    """
    if not any(
            isinstance(f, MMEngineInternalNoticeFilter)
            for f in logger.filters):
        logger.addFilter(MMEngineInternalNoticeFilter())
