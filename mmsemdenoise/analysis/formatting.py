"""Numbers and figures shared by the report writers (:mod:`.sweep_report`,
:mod:`.robustness_report`): the evaluator's scalars, table number formats, a blank figure."""
import math
from typing import Dict, Sequence

import numpy as np


def scalars(metrics: dict) -> Dict[str, float]:
    """The evaluator's numbers (per-class tables and other non-scalars are left out)."""
    return {key: float(value) for key, value in metrics.items()
            if np.ndim(value) == 0 and np.issubdtype(np.asarray(value).dtype, np.number)}


def column_decimals(rows: Sequence[dict], column: str) -> int:
    """4 decimals for a column of values within [-1, 1] (SSIM, fractions), 2 for the rest."""
    values = [abs(float(row[column])) for row in rows if column in row]
    finite = [v for v in values if math.isfinite(v)]
    return 4 if finite and max(finite) <= 1 + 1e-6 else 2


def format_number(value: float, decimals: int) -> str:
    """``value`` with ``decimals`` decimals; ``nan`` / ``inf`` / ``-inf`` as Python writes them."""
    value = float(value)
    return str(value) if not math.isfinite(value) else f'{value:.{decimals}f}'


def new_figure(width: float, height: float):
    """A matplotlib figure of ``width`` x ``height`` inches at 100 dpi on its own Agg canvas (no
    pyplot: no display, no global backend change)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig
