"""Report writers of the noise sweep and the corruption benchmark: tables, CSV, plots, example
grids. They import nothing of the package (``.importlinter``).

The runs themselves are the test loop :class:`mmsemdenoise.engine.RobustnessTestLoop`; the
sweep's set-up (:func:`~mmsemdenoise.engine.prepare_config`) sits beside it."""
from .examples import Example, example_of
from .formatting import scalars
from .robustness_report import (BENCHMARK_CORRUPTIONS, corruptions_in_mpc, markdown_report,
                                summarize, write_robustness_report)
from .sweep_report import (colorize, example_grid, markdown_table, metric_columns, plot_metric,
                           tile_grid, write_csv, write_report)

__all__ = [
    'Example', 'example_of', 'scalars', 'BENCHMARK_CORRUPTIONS', 'corruptions_in_mpc',
    'markdown_report', 'summarize', 'write_robustness_report', 'colorize', 'example_grid',
    'markdown_table', 'metric_columns', 'plot_metric', 'tile_grid', 'write_csv', 'write_report'
]
