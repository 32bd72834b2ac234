"""Relevance of matched texts to a rule, learnt from review marks: features, models, training (pure)."""

from bot.relevance.model import ModelFormatError, RelevanceModel, Score
from bot.relevance.train import Example, train

__all__ = ["Example", "ModelFormatError", "RelevanceModel", "Score", "train"]
