"""PineScript v5 programs from templates: strategies and indicators with parameter shapes.

A *shape* is everything that changes the structure of a program (strategy kind, moving
average type, stop-loss on/off, take-profit on/off, sizing mode, direction; or indicator
kind, alerts, highlighting). Numbers (lengths, multipliers, percentages) only fill slots.
`strategy_shapes()` / `indicator_shapes()` enumerate every shape so a test can parse one
program per shape with pynescript; generation itself never parses.
"""

from tradetune.datagen._pine.common import MA_TYPES
from tradetune.datagen._pine.explain import explain_strategy
from tradetune.datagen._pine.indicator import (
    INDICATOR_KINDS,
    IndicatorParams,
    draw_indicator,
    indicator_code,
    indicator_shapes,
    indicator_summary,
)
from tradetune.datagen._pine.strategy import (
    STRATEGY_KINDS,
    StrategyParams,
    draw_strategy,
    options_sentence,
    strategy_code,
    strategy_shapes,
    strategy_summary,
)

__all__ = [
    "INDICATOR_KINDS",
    "MA_TYPES",
    "STRATEGY_KINDS",
    "IndicatorParams",
    "StrategyParams",
    "draw_indicator",
    "draw_strategy",
    "explain_strategy",
    "indicator_code",
    "indicator_shapes",
    "indicator_summary",
    "options_sentence",
    "strategy_code",
    "strategy_shapes",
    "strategy_summary",
]
