"""edra: a synaptic-plasticity simulator (Rust, PyO3).

``Simulation.load(path)`` or ``Simulation.from_ron(text)`` builds a scene; ``run``, ``reward``,
``set_param``, ``synapses``, ``neurons``, ``recorder``, ``spikes`` and ``save_checkpoint`` drive and read it. Errors of the
library are raised as :class:`EdraError`.
"""

import os
from typing import Any, Optional, Union, final

import numpy as np
import numpy.typing as npt

__all__ = ["EdraError", "Simulation"]

class EdraError(Exception):
    """An error of the edra library: a scene that does not check (its message names
    ``file:line:column``), a file that cannot be read or written, or a non-finite value that
    stopped a run."""

@final
class Simulation:
    """A loaded scene, ready to step. Use it from the thread that made it."""

    @staticmethod
    def load(path: Union[str, os.PathLike[str]]) -> "Simulation":
        """Loads and builds a scene file or a checkpoint (``.ron``).

        Raises :class:`EdraError` if the file cannot be read or does not check."""

    @staticmethod
    def from_ron(text: str, name: str = "scene.ron") -> "Simulation":
        """Parses scene text and builds it; ``name`` labels the text in error messages.

        Raises :class:`EdraError` if the text does not check (the message names
        ``name:line:column``)."""

    def run(self, until_ms: Optional[float] = None, progress: bool = False) -> None:
        """Runs until simulated time ``until_ms`` (default: the scene's ``duration_ms``).

        Steps run without the GIL. About every 100 ms of wall time the run checks for signals:
        Ctrl-C (or a Jupyter interrupt) raises ``KeyboardInterrupt`` at a step boundary and
        leaves the simulation consistent, so ``run`` can continue. With ``progress``, a progress
        line is written to ``sys.stderr``. Raises :class:`EdraError` if a value becomes
        non-finite."""

    def step(self) -> None:
        """Advances one time step."""

    @property
    def t_ms(self) -> float:
        """Simulated time, ms."""

    @property
    def dt_ms(self) -> float:
        """The time step, ms."""

    @property
    def duration_ms(self) -> float:
        """The scene's ``duration_ms``: where ``run()`` stops without an argument."""

    def synapse(self, id: int) -> dict[str, Optional[float]]:
        """Every variable of synapse ``id``, in cascade order: ``{name: value}``, ``None`` for a
        variable the synapse does not have. Raises ``KeyError`` for an unknown id."""

    def synapses(self, frame: bool = False) -> Any:
        """Every synapse in id order as a dict of numpy arrays, one per column of
        ``synapses.csv`` (same names, units in the names): ``id`` (uint32), ``group`` (str),
        the sweep parameters of the synapse's replica (float64), ``pre``, ``post`` (uint32),
        ``axonal_delay_steps``, ``dendritic_delay_steps`` (uint16), then every variable
        (float32, NaN where the synapse does not have it). With ``frame=True``, a pandas
        DataFrame of the same columns."""

    def neurons(self, frame: bool = False) -> Any:
        """Every neuron in id order as a dict of numpy arrays: ``id`` (uint32), ``group``
        (str), then ``v_mv``, ``u`` and ``protein`` (float32, NaN where the neuron's model does
        not have the variable). With ``frame=True``, a pandas DataFrame of the same columns."""

    def recorder(self, name: str, frame: bool = False) -> Any:
        """The samples of recorder ``name`` as a dict of numpy arrays by its CSV header:
        ``t_ms`` (float64), the id column (``synapse``, ``neuron``, ``region`` or ``astrocyte``;
        uint32), then its variables (float64, NaN where the entity does not have the variable).
        Raises ``KeyError`` for a name the scene has no recorder of. With ``frame=True``, a
        pandas DataFrame of the same columns."""

    def recorders(self) -> list[str]:
        """The names of the scene's recorders."""

    def spikes(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.uint32]]:
        """The spikes fired since this object was made (by ``run`` and ``step``), in time
        order: ``(t_ms, neuron)``."""

    def set_param(self, path: str, value: Union[float, bool]) -> None:
        """Sets parameter ``path`` (a path as in sweeps and ``SetParam``, e.g.
        ``"synapses.syn.rule.a_plus"``) to ``value`` from the next step on, in every sweep
        replica: the same as a scene's ``SetParam(at_ms: t_ms, ...)``, checked the same way.
        The change joins the scene's timeline, so a checkpoint keeps it. Raises
        :class:`EdraError` (naming the field and the valid range) for a path that names no
        parameter, a parameter that cannot change during a run, or a value that does not fit;
        the simulation is then unchanged."""

    def reward(self, region: str, amount_um: float) -> None:
        """Releases ``amount_um`` µM of dopamine into the dopamine region ``region`` (in every
        sweep replica) on the next step: the same as a scene's ``Reward(at_ms: t_ms, ...)`` at
        the current time. The reward is part of the state, so a checkpoint saved before the
        next step keeps it. Raises :class:`EdraError` for an unknown region or an amount
        outside [0, 1000] µM (the range a scene's ``Reward`` accepts)."""

    def save_checkpoint(self, path: Union[str, os.PathLike[str]]) -> None:
        """Writes a checkpoint (the scene with its complete current state) to ``path``; load it
        with :meth:`Simulation.load` or ``edra run``. Raises :class:`EdraError` if it cannot be
        written."""
