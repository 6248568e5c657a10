"""Search operators: demos, components (no proposer needed), instructions and reflect (a
proposer)."""

from promptwork.optimizer.strategies.components import ComponentStrategy
from promptwork.optimizer.strategies.demos import DemoStrategy
from promptwork.optimizer.strategies.instructions import InstructionStrategy, Proposer
from promptwork.optimizer.strategies.reflect import ReflectStrategy

__all__ = ["ComponentStrategy", "DemoStrategy", "InstructionStrategy", "Proposer",
           "ReflectStrategy"]
