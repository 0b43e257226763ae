"""What the data of each kind look like before they are built: how many inputs and classes.

Below the configuration and the datasets alike, so the memory budget can size a run when its
experiment is validated without building (or importing) the data.
"""

from __future__ import annotations

#: Inputs per sample of the kinds whose inputs are fixed (``clusters`` has ``n_features``, a CSV
#: file its columns but the target); tests check it against the data themselves.
INPUT_DIMENSIONS = {"moons": 2, "circles": 2, "xor": 2, "xor_quadrants": 2, "blobs": 2,
                    "spirals": 2, "sin": 1, "encoder": 4, "iris": 4, "digits": 64}


def input_dimension(kind: str, n_features: int, csv_columns=None) -> int | None:
    """How many inputs the data of ``kind`` have, without building them: ``n_features`` for
    clusters, the columns but the target for a CSV file whose ``csv_columns`` are known (else
    None)."""
    if kind == "clusters":
        return n_features
    if kind == "csv":
        return len(csv_columns) - 1 if csv_columns else None
    return INPUT_DIMENSIONS[kind]


#: Classes of the kinds whose classes are fixed, None for the regression kinds (``blobs`` and
#: ``clusters`` have ``n_classes``, a CSV file what its target column holds); tests check it
#: against the data themselves.
CLASS_COUNTS = {"moons": 2, "circles": 2, "xor": 2, "xor_quadrants": 2, "spirals": 2,
                "iris": 3, "digits": 10, "sin": None, "encoder": None}


def class_count(kind: str, n_classes: int) -> int | None:
    """How many classes the data of ``kind`` have, without building them: ``n_classes`` for
    blobs and clusters, None for regression data. A CSV file's are known only once it is read
    (its target column, and the task it resolves to): ``ValueError`` for ``"csv"``."""
    if kind in ("blobs", "clusters"):
        return n_classes
    if kind == "csv":
        raise ValueError("a CSV file's classes are known once the file is read")
    return CLASS_COUNTS[kind]
