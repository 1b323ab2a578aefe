from .expert_score_tta import AverageExpertScoreTTA

__all__ = ['AverageExpertScoreTTA']
