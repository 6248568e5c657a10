"""Search operators: demos, components (no proposer needed) and instructions (a proposer)."""

from promptwork.optimize.strategies.components import ComponentStrategy
from promptwork.optimize.strategies.demos import DemoStrategy
from promptwork.optimize.strategies.instructions import InstructionStrategy, Proposer

__all__ = ["ComponentStrategy", "DemoStrategy", "InstructionStrategy", "Proposer"]
