"""A log-scale axis that stays legible: few, well-spaced labels in one compact number style.

pyqtgraph's own log axis labels every minor tick ("2·10¹ 3·10¹ …" pile up) and labels nothing
when the range lies inside one decade. :class:`LogAxis` picks its ticks with :func:`log_ticks`:
decades when two or more are visible, 1-2-5 mantissas for narrower ranges (finer steps when even
those give fewer than two labels), unlabelled minor ticks in between, and labels from
:func:`tick_labels`, one style on every axis of the lab: decades as powers of ten ("10⁻²"),
1-2-5 steps as short decimals ("0.2", "50"), or as "2·10⁻⁵" where a decimal would be long.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

from .presentation import BASE_POINTS

#: Smallest distance between two labelled ticks, in pixels, along a vertical / horizontal axis.
LABEL_GAP_PX = {True: 24.0, False: 64.0}
#: Below this many pixels per decade the 2…9 minor ticks are left out (they would be a smear).
MINOR_PX_PER_DECADE = 40.0
MANTISSA_SETS = ((1.0, 2.0, 5.0), tuple(float(m) for m in range(1, 10)))
_MAJOR, _MINOR = 1.0, 0.0  # "spacing" markers handed back to pyqtgraph for the two tick levels


def _mantissa_ticks(lo: float, hi: float, mantissas) -> list[float]:
    """log10 of every m·10^k (m in ``mantissas``) inside [lo, hi] (log10 units)."""
    ticks = []
    for k in range(math.floor(lo) - 1, math.ceil(hi) + 1):
        for m in mantissas:
            v = k + math.log10(m)
            if lo - 1e-9 <= v <= hi + 1e-9:
                ticks.append(v)
    return ticks


def _linear_ticks(lo: float, hi: float, most: int):
    """Evenly spaced values (1-2-5 × 10^k steps, coarse to fine) over [10^lo, 10^hi], as log10;
    one list per step size, up to ``most`` values each."""
    a, b = 10.0 ** lo, 10.0 ** hi
    power = 10.0 ** math.floor(math.log10(b - a))
    for step in (5 * power, 2 * power, power, power / 2, power / 5, power / 10, power / 20):
        first, last = math.ceil(a / step - 1e-9), math.floor(b / step + 1e-9)
        if last - first + 1 > most:
            return
        values = [i * step for i in range(first, last + 1)]
        yield [math.log10(v) for v in values if v > 0]


def log_ticks(lo: float, hi: float, size_px: float, vertical: bool = True,
              type_scale: float = 1.0) -> tuple[list[float], list[float]]:
    """Labelled and unlabelled tick positions (log10 units) for a log axis over [lo, hi].

    Parameters
    ----------
    lo, hi
        The visible range in log10 units (pyqtgraph's log-mode view coordinates).
    size_px
        Length of the axis on screen; decides how many labels fit.
    vertical
        Labels stack vertically (a left/right axis) and may sit closer than side by side.
    type_scale
        The tick labels' size against 9 pt (presenter mode: 1.6): the gaps grow with it.
    """
    lo, hi = sorted((float(lo), float(hi)))
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi - lo < 1e-12 or size_px <= 0:
        return [], []
    gap = LABEL_GAP_PX[vertical] * max(type_scale, 1.0)
    px_per_decade = size_px / (hi - lo)
    show_minor = px_per_decade >= MINOR_PX_PER_DECADE

    def spaced(ticks) -> bool:  # no two labels closer than ``gap`` pixels
        return all(np.diff(ticks) * px_per_decade >= gap)

    if hi - lo >= 2.0:  # decades, every one or every 2nd, 3rd, 5th ... as space allows
        decades = list(range(math.ceil(lo - 1e-9), math.floor(hi + 1e-9) + 1))
        every = 1
        while every * px_per_decade < gap:
            every = {1: 2, 2: 3, 3: 5}.get(every, every * 2)
        major = [float(d) for d in decades if d % every == 0]
        if len(major) < 2:
            major = [float(decades[0]), float(decades[-1])]
        minor = [float(d) for d in decades if float(d) not in major]
        if every == 1 and show_minor:
            minor += _mantissa_ticks(lo, hi, range(2, 10))
        finer = _mantissa_ticks(lo, hi, MANTISSA_SETS[0])
        if len(major) < 3 and spaced(finer):  # just two decades: 1-2-5 gives more labels
            taken = {round(v, 9) for v in finer}
            return finer, [v for v in _mantissa_ticks(lo, hi, range(1, 10))
                           if round(v, 9) not in taken] if show_minor else []
        return major, sorted(minor)
    wanted = 3 if size_px >= 2.5 * gap else 2
    most = int(size_px / gap) + 1
    candidates = [_mantissa_ticks(lo, hi, m) for m in MANTISSA_SETS]
    candidates += list(_linear_ticks(lo, hi, most))
    decades = _mantissa_ticks(lo, hi, (1.0,))  # last resort: 0.1 and 1 on a short axis
    fitting = [c for c in (*candidates, decades) if len(c) >= 2 and spaced(c)]
    major = next((c for c in fitting if len(c) >= wanted), None)
    if major is None:  # none spaced: the roomiest (the finest ran "0.2 0.4 0.6 0.8 1" together)
        roomy = [c for c in (*candidates, decades) if len(c) >= 2]
        major = (max(fitting, key=len) if fitting
                 else max(roomy, key=lambda c: min(np.diff(c))) if roomy else [lo, hi])
    taken = {round(v, 9) for v in major}
    minor = [v for v in _mantissa_ticks(lo, hi, range(1, 10)) if round(v, 9) not in taken
             ] if show_minor and major is candidates[0] else []
    return major, minor


def _decimal(value: float) -> str:
    text = f"{value:.6g}"
    return text if "e" not in text else f"{value:.6f}".rstrip("0").rstrip(".")


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _mantissa_exponent(value: float) -> tuple[float, int]:
    exponent = math.floor(math.log10(abs(value)) + 1e-9)
    mantissa = float(f"{abs(value) / 10.0 ** exponent:.6g}")
    if mantissa >= 10:  # 9.9999999 rounded up
        mantissa, exponent = mantissa / 10, exponent + 1
    return mantissa, exponent


def _power(value: float) -> str:
    """"10⁻³", "2·10⁵", "−10²"."""
    mantissa, exponent = _mantissa_exponent(value)
    sign = "−" if value < 0 else ""
    head = "" if mantissa == 1 else f"{mantissa:g}·"
    return f"{sign}{head}10{str(exponent).translate(_SUPERSCRIPT)}"


def tick_labels(values) -> list[str]:
    """Labels for one axis' ticks, in the style every axis of the lab uses, whatever its range:
    an axis labelled at decades only shows powers of ten ("10⁻²", "10⁰", "10³"); any other
    (an axis narrower than two decades labels 1-2-5 steps) short decimals ("0.2", "0.5", "1")
    while every value lies in [0.0001, 100000), else "2·10⁻⁵"-style powers."""
    values = [float(v) for v in values]
    nonzero = [v for v in values if v != 0]
    if nonzero and all(_mantissa_exponent(v)[0] == 1 for v in nonzero) or not all(
            v == 0 or 1e-4 * (1 - 1e-9) <= abs(v) < 1e5 for v in values):
        return ["0" if v == 0 else _power(v) for v in values]
    return [_decimal(v) for v in values]


def compact(value: float | None, digits: int = 4) -> str:
    """A number for status text: "837.2", "1000", "0.000928", "1.23e7"; "—" for none."""
    if value is None or not math.isfinite(value):
        return "—" if value is None or math.isnan(value) else ("∞" if value > 0 else "−∞")
    if value == 0:
        return "0"
    text = f"{value:.{digits}g}"
    if "e" in text and 1 <= abs(value) < 1e6:
        return f"{value:.0f}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa}e{int(exponent)}"
    return text


class LogAxis(pg.AxisItem):
    """An axis for log-mode plots: see :func:`log_ticks` and :func:`tick_labels`.

    Outside log mode it behaves as pyqtgraph's plain axis.
    """

    def __init__(self, orientation: str = "left", **kwargs):
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)

    def tickValues(self, minVal, maxVal, size):  # noqa: N802, N803 (pyqtgraph naming)
        if not self.logMode:
            return super().tickValues(minVal, maxVal, size)
        font = self.style["tickFont"]  # presenter mode's is larger: so are the gaps
        scale = font.pointSizeF() / BASE_POINTS if font is not None else 1.0
        major, minor = log_ticks(minVal, maxVal, size, self.orientation in ("left", "right"),
                                 scale)
        return [(_MAJOR, major), (_MINOR, minor)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph naming)
        if not self.logMode:
            return super().tickStrings(values, scale, spacing)
        if spacing != _MAJOR:
            return [""] * len(values)
        return tick_labels([10.0 ** v * scale for v in values])

    def labelled_ticks(self) -> list[str]:
        """The labels the axis draws for its current range (tests and screenshots)."""
        length = self.height() if self.orientation in ("left", "right") else self.width()
        levels = self.tickValues(self.range[0], self.range[1], max(length, 1.0))
        return [s for spacing, values in levels
                for s in self.tickStrings(values, self.scale, spacing) if s]
