"""Search operators: demos, components (no proposer needed), instructions and reflect (a
proposer)."""

from promptwork.optimize.strategies.components import ComponentStrategy
from promptwork.optimize.strategies.demos import DemoStrategy
from promptwork.optimize.strategies.instructions import InstructionStrategy, Proposer
from promptwork.optimize.strategies.reflect import ReflectStrategy

__all__ = ["ComponentStrategy", "DemoStrategy", "InstructionStrategy", "Proposer",
           "ReflectStrategy"]
