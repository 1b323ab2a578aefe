from .balanced_softmax_loss import BalancedSoftmaxLoss
from .dkt_loss import DKTLoss
from .mutual_kd_loss import MutualKDLoss

__all__ = ['DKTLoss', 'MutualKDLoss', 'BalancedSoftmaxLoss']
