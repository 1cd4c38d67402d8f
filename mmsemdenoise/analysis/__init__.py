"""Analysis of trained cascades: the noise sweep and the corruption benchmark (set-up, reports).

The runs themselves are the test loop :class:`mmsemdenoise.engine.RobustnessTestLoop`."""
from .noise_sweep import (check_cascade_config, check_sigmas, example_of, parse_variant,
                          prepare_config, scalars)
from .robustness_report import (BENCHMARK_CORRUPTIONS, corruptions_in_mpc, markdown_report,
                                summarize, write_robustness_report)
from .sweep_report import (colorize, example_grid, markdown_table, metric_columns, plot_metric,
                           tile_grid, write_csv, write_report)

__all__ = [
    'check_cascade_config', 'check_sigmas', 'example_of', 'parse_variant', 'prepare_config',
    'scalars', 'BENCHMARK_CORRUPTIONS', 'corruptions_in_mpc', 'markdown_report', 'summarize',
    'write_robustness_report', 'colorize', 'example_grid', 'markdown_table', 'metric_columns',
    'plot_metric', 'tile_grid', 'write_csv', 'write_report'
]
