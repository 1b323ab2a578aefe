from .average_logit_tta import AverageLogitTTA
from .expert_score_tta import AverageExpertScoreTTA

__all__ = ['AverageExpertScoreTTA', 'AverageLogitTTA']
