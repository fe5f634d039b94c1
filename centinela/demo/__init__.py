"""The live demo: the whole Centinela loop on the local stack, watched in the terminal.

It starts the stack, bootstraps a champion, runs the stream and retrain workers as separate
processes, plays a drift scenario, shows what happens live, and ends with a summary that puts
each true change point beside the window where it was detected.
"""

from centinela.demo.observer import DemoState, TopicObserver
from centinela.demo.orchestration import DemoOptions, run_demo

__all__ = ["DemoOptions", "DemoState", "TopicObserver", "run_demo"]
