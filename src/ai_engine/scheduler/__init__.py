"""Request scheduling: a dynamic batcher per model with a bounded queue and deadlines."""

from ai_engine.scheduler.batcher import BatchPolicy, DynamicBatcher
from ai_engine.scheduler.errors import DeadlineExceededError, QueueFullError, SchedulerClosedError
from ai_engine.scheduler.stats import ModelStats

__all__ = ["BatchPolicy", "DynamicBatcher", "ModelStats", "QueueFullError",
           "DeadlineExceededError", "SchedulerClosedError"]
