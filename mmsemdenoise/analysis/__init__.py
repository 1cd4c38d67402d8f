"""Analysis of trained cascades: the noise sweep (task metric and PSNR/SSIM against sigma)."""
from .noise_sweep import (ExampleCollector, build_variants, check_cascade_config, check_sigmas,
                          parse_variant, prepare_config, run_sweep)
from .sweep_report import (colorize, example_grid, markdown_table, metric_columns, plot_metric,
                           write_csv, write_report)

__all__ = [
    'ExampleCollector', 'build_variants', 'check_cascade_config', 'check_sigmas', 'parse_variant',
    'prepare_config', 'run_sweep', 'colorize', 'example_grid', 'markdown_table',
    'metric_columns', 'plot_metric', 'write_csv', 'write_report'
]
