from .backbones import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .peft import *  # noqa: F401,F403
from .post_processors import *  # noqa: F401,F403
from .tta import *  # noqa: F401,F403
