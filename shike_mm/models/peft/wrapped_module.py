"""The wrapper behaviour the PEFT modules share."""
from mmengine.model import BaseModule


class WrappedModule(BaseModule):
    """A module that runs the module it wraps and answers for that module's
    attributes, as MMPretrain's ``LoRAModel`` does, so that code written for
    the wrapped model (a head reading ``embed_dims``, a hook reading
    ``layers``) works through the wrapper.

    A subclass sets ``self.module`` in its ``__init__``.
    """

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == 'module':
                raise
            return getattr(self.module, name)
