import logging

import pytest
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope


@pytest.fixture(autouse=True)
def quiet_scope():
    """MMPretrain's registry scope, and the logger at WARNING, for every
    PEFT test."""
    init_default_scope('mmpretrain')
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)
